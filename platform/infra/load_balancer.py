"""The application load balancer in front of the web services, reachable only from CloudFront.

One balancer, one listener and one security group for every web service of services.yaml; per
web service its own target group (and, under blue/green, its alternate), health-checked on its
own health path, and its own listener rule forwarding its declared `paths` there. The rules'
priorities are 10, 20, 30 ... in declaration order (WEB_RULE_PRIORITY_STEP): deterministic, and
stable while new web services are appended. Which rule matches first never matters, because
service_declaration.py refuses two web services whose paths overlap; priorities only have to be
unique. The first web service keeps what the single one had: priority 10, and the logical names
`load-balancer-forward` and `load-balancer-to-tasks` as aliases (no replacement on upgrade).

- `alb_origin=vpc_origin` (recommended): an internal ALB in private subnets that CloudFront reaches
  through a VPC origin; there is no public address at all.
- `alb_origin=public`: an internet-facing ALB whose listener forwards only requests carrying a
  secret header that CloudFront adds; everything else gets 403. AWS's guidance for this pattern
  requires HTTPS between CloudFront and the ALB (over HTTP the secret crosses the internet in
  clear), so the ALB listens on HTTPS only, with a regional ACM certificate for its own name
  under the stack's domain (`origin.<domain_name>`), and CloudFront connects `https-only`.

Either way the security group admits only CloudFront's origin-facing managed prefix list, and
the listener's default action refuses: only the web services' rules reach tasks, and the group
lets the balancer out to the VPC on each distinct web port only.

Target-group health check (docs/health-checks.md): each service's declared `health_path`, which
should be shallow like the demo's `/healthz` (the process answers;
no dependency), because ECS REPLACES a task its target group calls unhealthy, and a database
fail-over (60-120 s) fails a deep check on every task at once: replacing them all fixes nothing
and leaves no warm task when the database is back. The deep `/readyz` stays where acting on it is
safe: the deploy's smoke test and the rehearsal's HAProxy. Timing: a new task is healthy after
HEALTHY_THRESHOLD x INTERVAL = 2 x 10 s = 20 s; a wedged process (no answer) is unhealthy at most
UNHEALTHY_THRESHOLD x INTERVAL + TIMEOUT = 3 x 10 s + 5 s = 35 s after it stopped answering, and
ECS then replaces it. Pulumi/Terraform defaults (interval 30 s, 3 healthy checks) would add 70 s
to every task start of a rollout. tests/platform_program/test_health_checks.py does the arithmetic
on the evaluated stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.certificates import dns_validated_certificate
from infra.config import NS, PROJECT, StackConfig
from infra.service_declaration import DeclaredService

HEALTH_CHECK_INTERVAL_SECONDS = 10
HEALTH_CHECK_TIMEOUT_SECONDS = 5
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3
# Below the server's keep-alive (75 s, service/core/config.py) so the ALB, not the server, closes
# idle connections: the other way round the ALB can reuse a socket the server just closed (502).
IDLE_TIMEOUT_SECONDS = 60
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# alb_origin=public: the ALB's own name, under shipyard:domain_name, that its certificate covers.
ORIGIN_SUBDOMAIN = "origin"
# TLS 1.3 and 1.2 only (AWS's recommended policy for new HTTPS listeners).
HTTPS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The first web service's rule has priority 10 (as the single rule had), the next 20, ...: gaps
# leave room for a hand-made rule in an emergency without renumbering.
WEB_RULE_PRIORITY_STEP = 10


@dataclass(frozen=True)
class LoadBalancerArgs:
    config: StackConfig
    # The declared services; the web ones, in declaration order, get a target group and a rule.
    services: dict[str, DeclaredService]
    vpc_id: pulumi.Input[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]


@dataclass(frozen=True)
class WebRoute:
    """What the balancer holds for one web service."""

    paths: tuple[str, ...]
    target_group: aws.lb.TargetGroup
    # The second target group for ECS's native blue/green (None for rolling).
    alternate_target_group: aws.lb.TargetGroup | None
    forward_rule: aws.lb.ListenerRule

    @property
    def target_groups(self) -> list[aws.lb.TargetGroup]:
        alternate = self.alternate_target_group
        return [self.target_group] if alternate is None else [self.target_group, alternate]


class LoadBalancer(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    # The name CloudFront connects to, and how: the ALB's DNS name over HTTP inside AWS (VPC
    # origin), or its own certified name over HTTPS (public).
    origin_domain_name: pulumi.Output[str]
    origin_protocol_policy: str
    security_group_id: pulumi.Output[str]
    # The CIDRs of CloudFront's origin-facing prefix list: the api trusts X-Forwarded-For from
    # them (they appear as the hop before the ALB, with a public ALB and a VPC origin alike).
    cloudfront_origin_cidrs: pulumi.Output[list[str]]
    # Per web service: its target group(s) and listener rule.
    routes: dict[str, WebRoute]

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:edge:LoadBalancer", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        internal = config.alb_origin == "vpc_origin"
        # Public: CloudFront's secret header travels over the internet, so HTTPS only.
        port, protocol = (80, "HTTP") if internal else (443, "HTTPS")

        prefix_list = aws.ec2.get_managed_prefix_list_output(
            name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.cloudfront_origin_cidrs = prefix_list.entries.apply(
            lambda entries: [entry.cidr for entry in entries or []]
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            # SG descriptions allow a restricted ASCII set (no apostrophes).
            description=f"ALB: {protocol} from the CloudFront origin-facing servers only",
            tags={"Name": f"{config.prefix}-alb"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-cloudfront",
            security_group_id=security_group.id,
            description=f"{protocol} from CloudFront (managed prefix list)",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            prefix_list_id=prefix_list.id,
            opts=child,
        )
        webs = [s for s in args.services.values() if s.spec.kind == "web"]
        # One egress per distinct port (two services on one port share it). The first web
        # service's port carries, as an alias, the logical name the single egress had.
        for port_number in dict.fromkeys(web.spec.web_port for web in webs):
            legacy = port_number == webs[0].spec.web_port
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-tasks-{port_number}",
                security_group_id=security_group.id,
                description=f"to the web tasks on port {port_number} inside the VPC",
                ip_protocol="tcp",
                from_port=port_number,
                to_port=port_number,
                cidr_ipv4=str(config.vpc_cidr),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=f"{name}-to-tasks")] if legacy else None,
                ),
            )

        balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=internal,
            subnets=args.private_subnet_ids if internal else args.public_subnet_ids,
            security_groups=[security_group.id],
            idle_timeout=IDLE_TIMEOUT_SECONDS,
            drop_invalid_header_fields=True,
            tags={"environment": config.environment},
            opts=child,
        )

        certificate_arn: pulumi.Output[str] | None = None
        ssl_policy: str | None = None
        if internal:
            self.origin_domain_name = balancer.dns_name
            self.origin_protocol_policy = "http-only"
        else:
            zone = config.hosted_zone_id
            if zone is None:  # config.py refuses alb_origin=public without domain and zone
                raise ValueError(f"{NS}alb_origin=public needs {NS}hosted_zone_id")
            origin_name = f"{ORIGIN_SUBDOMAIN}.{config.domain_name}"
            certificate_arn = self._origin_certificate(name, zone, origin_name)
            ssl_policy = HTTPS_POLICY
            aws.route53.Record(
                f"{name}-origin",
                zone_id=zone,
                name=origin_name,
                type="A",
                aliases=[
                    {
                        "name": balancer.dns_name,
                        "zone_id": balancer.zone_id,
                        "evaluate_target_health": False,
                    }
                ],
                opts=child,
            )
            self.origin_domain_name = pulumi.Output.from_input(origin_name)
            self.origin_protocol_policy = "https-only"

        listener = aws.lb.Listener(
            f"{name}-{protocol.lower()}",
            load_balancer_arn=balancer.arn,
            port=port,
            protocol=protocol,
            certificate_arn=certificate_arn,
            ssl_policy=ssl_policy,
            default_actions=[
                {
                    "type": "fixed-response",
                    "fixed_response": {
                        "content_type": "text/plain",
                        "message_body": "Forbidden: use the site's public address",
                        "status_code": "403",
                    },
                }
            ],
            opts=child,
        )
        self.routes = {
            web.name: self._route(name, args, web, listener, position)
            for position, web in enumerate(webs)
        }

        self.arn = balancer.arn
        self.arn_suffix = balancer.arn_suffix
        self.dns_name = balancer.dns_name
        self.security_group_id = security_group.id
        self.listener_arn = listener.arn
        self.register_outputs({"dns_name": self.dns_name, "arn": self.arn})

    def _origin_certificate(
        self, name: str, hosted_zone_id: str, origin_name: str
    ) -> pulumi.Output[str]:
        """A DNS-validated ACM certificate for the ALB's own name, in the stack's region."""
        child = pulumi.ResourceOptions(parent=self)
        return dns_validated_certificate(
            certificate_name=f"{name}-origin",
            record_name=f"{name}-origin-validation",
            domain_name=origin_name,
            hosted_zone_id=hosted_zone_id,
            certificate_opts=child,
            record_opts=child,
        )

    def _route(
        self,
        name: str,
        args: LoadBalancerArgs,
        web: DeclaredService,
        listener: aws.lb.Listener,
        position: int,
    ) -> WebRoute:
        """One web service's target group(s) and the rule that forwards its paths to them."""
        config = args.config
        target_group = self._target_group(f"{name}-{web.name}", args, web)
        alternate = (
            self._target_group(f"{name}-{web.name}-alt", args, web)
            if config.deployment_strategy == "blue_green"
            else None
        )
        conditions: list[aws.lb.ListenerRuleConditionArgsDict] = [
            {"path_pattern": {"values": list(web.spec.paths)}}
        ]
        if config.alb_origin == "public":
            conditions.append(
                {
                    "http_header": {
                        "http_header_name": ORIGIN_VERIFY_HEADER,
                        "values": [pulumi.Output.secret(config.origin_secret)],
                    }
                }
            )
        forward: aws.lb.ListenerRuleActionArgsDict
        if alternate is None:
            forward = {"type": "forward", "target_group_arn": target_group.arn}
        else:
            # Blue/green: ECS shifts traffic by rewriting these weights during a deployment.
            forward = {
                "type": "forward",
                "forward": {
                    "target_groups": [
                        {"arn": target_group.arn, "weight": 100},
                        {"arn": alternate.arn, "weight": 0},
                    ]
                },
            }
        rule = aws.lb.ListenerRule(
            f"{name}-{web.name}-forward",
            listener_arn=listener.arn,
            priority=WEB_RULE_PRIORITY_STEP * (position + 1),
            conditions=conditions,
            actions=[forward],
            opts=pulumi.ResourceOptions(
                parent=self,
                # ECS owns the weights under blue/green; Pulumi would otherwise flip them back.
                ignore_changes=["actions"] if alternate is not None else None,
                # The single rule of a one-web-service stack had this name: no replacement.
                aliases=[pulumi.Alias(name=f"{name}-forward")] if position == 0 else None,
            ),
        )
        return WebRoute(web.spec.paths, target_group, alternate, rule)

    def _target_group(
        self, name: str, args: LoadBalancerArgs, web: DeclaredService
    ) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            name,
            port=web.spec.web_port,
            protocol="HTTP",
            target_type="ip",  # awsvpc tasks register by IP, on Fargate and EC2 alike
            vpc_id=args.vpc_id,
            # Long enough for the slowest request to finish after the target leaves rotation,
            # short enough not to stall each rollout step (AWS's default is 300 s).
            deregistration_delay=args.config.deregistration_delay_seconds,
            health_check={
                "enabled": True,
                # Its liveness path, not readiness (see the module docstring).
                "path": web.spec.web_health_path,
                "protocol": "HTTP",
                "port": "traffic-port",
                "matcher": "200",
                "interval": HEALTH_CHECK_INTERVAL_SECONDS,
                "timeout": HEALTH_CHECK_TIMEOUT_SECONDS,
                "healthy_threshold": HEALTHY_THRESHOLD,
                "unhealthy_threshold": UNHEALTHY_THRESHOLD,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
