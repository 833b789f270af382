"""The health verdict: endpoints, ECS, ALB targets, alarms and Route 53 in one answer."""
