output "intake_queue_arn" {
  description = "ARN of the intake queue."
  value       = try(aws_sqs_queue.intake[0].arn, null)
}

output "intake_queue_arn_for_notifications" {
  description = "ARN of the intake queue, known only once its policy lets S3 send to it (pass this one to the bucket notification)."
  value       = try(aws_sqs_queue.intake[0].arn, null)
  depends_on  = [aws_sqs_queue_policy.intake]
}

output "intake_queue_url" {
  description = "URL of the intake queue."
  value       = try(aws_sqs_queue.intake[0].id, null)
}

output "intake_queue_name" {
  description = "Name of the intake queue."
  value       = try(aws_sqs_queue.intake[0].name, null)
}

output "intake_queue_visibility_timeout" {
  description = "Visibility timeout of the intake queue in seconds."
  value       = try(aws_sqs_queue.intake[0].visibility_timeout_seconds, null)
}

output "intake_dlq_arn" {
  description = "ARN of the intake queue's dead-letter queue."
  value       = try(aws_sqs_queue.intake_dlq[0].arn, null)
}

output "intake_dlq_name" {
  description = "Name of the intake queue's dead-letter queue."
  value       = try(aws_sqs_queue.intake_dlq[0].name, null)
}

output "failed_invocations_queue_arn" {
  description = "ARN of the queue of failed asynchronous invocations (Lambda dead_letter_config, schedule dead-letter target)."
  value       = try(aws_sqs_queue.failed_invocations[0].arn, null)
}

output "failed_invocations_queue_name" {
  description = "Name of the queue of failed asynchronous invocations."
  value       = try(aws_sqs_queue.failed_invocations[0].name, null)
}
