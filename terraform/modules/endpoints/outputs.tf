output "gateway_endpoint_ids" {
  description = "ID of each gateway endpoint, by service."
  value       = { for k, e in aws_vpc_endpoint.gateway : k => e.id }
}

output "interface_endpoint_ids" {
  description = "ID of each interface endpoint, by service."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}

output "security_group_id" {
  description = "Security group of the interface endpoints."
  value       = try(aws_security_group.interface[0].id, null)
}
