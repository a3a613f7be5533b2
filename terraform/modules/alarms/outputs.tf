output "alarm_topic_arn" {
  description = "ARN of the alarm topic every alarm notifies."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "alarm_actions" {
  description = "The actions every alarm has (the topic, then alarm_action_arns)."
  value       = local.actions
}

output "alarm_names" {
  description = "Name of every alarm."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.lambda_throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.intake_age : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.executions : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.glue_run_failed : a.alarm_name],
  )
}
