output "schedule_arns" {
  description = "ARN of each schedule (recover, landing_listing, seal)."
  value       = { for k, s in aws_scheduler_schedule.this : k => s.arn }
}

output "schedule_group_name" {
  description = "Name of the schedule group."
  value       = try(aws_scheduler_schedule_group.this[0].name, null)
}
