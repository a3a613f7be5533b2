# The VPC endpoints the functions and the Glue connection need in private subnets without a NAT
# gateway (review TF-LAMBDA-001): gateway endpoints (free) for S3 and DynamoDB on the private route
# tables, interface endpoints (billed per zone-hour) for Step Functions (the intake, recover and seal
# start executions), Glue (the commit step keeps the Data Catalog) and CloudWatch Logs (the Glue
# job's continuous logs). Lambda delivers the functions' own logs and traces itself. The services
# are the package's contract (ndjson2parquet.aws.deployment.GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS;
# the cost model prices them): tests/unit/infrastructure compares them.

data "aws_region" "current" {}

resource "aws_vpc_endpoint" "gateway" {
  for_each = var.create ? toset(var.gateway_services) : toset([])

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  tags              = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_security_group" "interface" {
  count = var.create && length(var.interface_services) > 0 ? 1 : 0

  name        = "${var.name}-endpoints"
  description = "HTTPS from the functions and the Glue connection to the interface endpoints"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each = var.create && length(var.interface_services) > 0 ? toset(var.client_security_group_ids) : toset([])

  security_group_id            = aws_security_group.interface[0].id
  description                  = "HTTPS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.key
  tags                         = var.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.create ? toset(var.interface_services) : toset([])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.interface[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
