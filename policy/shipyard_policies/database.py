"""RDS: encrypted, private, backed up, password kept by RDS; resilient in production."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from shipyard_policies.props import ReportViolation, for_types, tag


@for_types("aws:rds/instance:Instance")
def _basics(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if props.get("storageEncrypted") is not True:
        report("database storage is not encrypted: set storage_encrypted=True")
    if props.get("publiclyAccessible") is True:
        report("database is publicly accessible: set publicly_accessible=False")
    if int(props.get("backupRetentionPeriod") or 0) < 1:
        report("database has no automated backups: set backup_retention_period >= 1")
    if props.get("manageMasterUserPassword") is not True or props.get("password"):
        report(
            "let RDS manage the master password in Secrets Manager (manage_master_user_password)"
        )


@for_types("aws:rds/instance:Instance")
def _production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if tag(args.props, "environment") != "production":
        return
    if args.props.get("multiAz") is not True:
        report("a production database is multi-AZ")
    if args.props.get("deletionProtection") is not True:
        report("a production database has deletion protection")


RDS_ENCRYPTED_PRIVATE_BACKED_UP = ResourceValidationPolicy(
    name="rds-encrypted-private-backed-up",
    description="Databases are encrypted, private, backed up, with an RDS-managed password.",
    validate=_basics,
)
RDS_PRODUCTION_RESILIENCE = ResourceValidationPolicy(
    name="rds-production-resilience",
    description="Production databases are multi-AZ and deletion-protected.",
    validate=_production,
)
