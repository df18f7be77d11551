"""The on-disk snapshot layout: file names, the format version, and resource kind names.

Both the collector (which writes) and the loader (which reads) take every path from here, so the
layout is defined once. A snapshot directory holds raw API responses as AWS returns them, pages
merged, named after the AWS CLI command that makes the call:

    manifest.json
    sts/get-caller-identity.json
    iam/get-account-authorization-details.json
    iam/list-instance-profiles.json
    iam/list-access-keys.json          {user name: ListAccessKeys response}
    iam/get-login-profile.json         {user name: GetLoginProfile response, or null = no password}
    iam/list-mfa-devices.json          {user name: ListMFADevices response}
    iam/get-service-last-accessed-details.json   {principal ARN: response}, with --last-accessed
    organizations/describe-organization.json
    organizations/list-roots.json
    organizations/list-parents.json    {child id: ListParents response}, account -> root
    organizations/describe-organizational-unit.json   {OU id: response}
    organizations/list-policies-for-target.json       {target id: {policy type: response}}
    organizations/describe-policy.json {policy id: DescribePolicy response}
    regions/<region>/<service>/<command>.json

docs/snapshot.md documents each file with jq examples.
"""

from __future__ import annotations

FORMAT_NAME = "deescalate-snapshot"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)

MANIFEST = "manifest.json"
CALLER_IDENTITY = "sts/get-caller-identity.json"
IAM_DETAILS = "iam/get-account-authorization-details.json"
IAM_INSTANCE_PROFILES = "iam/list-instance-profiles.json"
IAM_ACCESS_KEYS = "iam/list-access-keys.json"
IAM_LOGIN_PROFILES = "iam/get-login-profile.json"
IAM_MFA_DEVICES = "iam/list-mfa-devices.json"
# {principal ARN: GetServiceLastAccessedDetails response (ACTION_LEVEL, pages merged)}; only with
# `collect --last-accessed`, for the principals at risk.
IAM_LAST_ACCESSED = "iam/get-service-last-accessed-details.json"

ORG_DESCRIBE = "organizations/describe-organization.json"
ORG_ROOTS = "organizations/list-roots.json"
# ListAccounts, pages merged: written for an organization snapshot's organization/ directory only.
ORG_ACCOUNTS = "organizations/list-accounts.json"
ORG_PARENTS = "organizations/list-parents.json"
ORG_OUS = "organizations/describe-organizational-unit.json"
ORG_TARGET_POLICIES = "organizations/list-policies-for-target.json"
ORG_POLICIES = "organizations/describe-policy.json"

ORG_FILES = (ORG_DESCRIBE, ORG_ROOTS, ORG_ACCOUNTS, ORG_PARENTS, ORG_OUS, ORG_TARGET_POLICIES, ORG_POLICIES)

# An organization snapshot directory (`collect --organization`): a manifest listing every account,
# the organization's files under organization/, each account's own snapshot under accounts/ID/.
ORG_FORMAT_NAME = "deescalate-organization"
ORG_FORMAT_VERSION = 1
ORG_SUPPORTED_VERSIONS = (1,)
ORG_FILES_DIR = "organization"
ORG_ACCOUNTS_DIR = "accounts"

SCP_TYPE = "SERVICE_CONTROL_POLICY"
RCP_TYPE = "RESOURCE_CONTROL_POLICY"


def regional(region: str, service: str, command: str) -> str:
    """The relative path of one regional response file."""
    return f"regions/{region}/{service}/{command}.json"


# Resource kinds (Resource.kind, InventoryRecord.kind). Edge modules match on these strings.
EC2_INSTANCE = "ec2:instance"
LAMBDA_FUNCTION = "lambda:function"
CLOUDFORMATION_STACK = "cloudformation:stack"
CODEBUILD_PROJECT = "codebuild:project"
GLUE_DEV_ENDPOINT = "glue:devendpoint"
GLUE_JOB = "glue:job"
SAGEMAKER_NOTEBOOK = "sagemaker:notebook-instance"
SSM_MANAGED_INSTANCE = "ssm:managed-instance"
ECS_CLUSTER = "ecs:cluster"
ECS_SERVICE = "ecs:service"
ECS_TASK_DEFINITION = "ecs:task-definition"
DATAPIPELINE_PIPELINE = "datapipeline:pipeline"
EC2_LAUNCH_TEMPLATE = "ec2:launch-template"
BATCH_COMPUTE_ENVIRONMENT = "batch:compute-environment"
BATCH_JOB_QUEUE = "batch:job-queue"
BATCH_JOB_DEFINITION = "batch:job-definition"
CODEDEPLOY_DEPLOYMENT_GROUP = "codedeploy:deployment-group"
APPRUNNER_SERVICE = "apprunner:service"
AGENTCORE_RUNTIME = "bedrock-agentcore:runtime"

# Each kind, with the (service, command) files that hold it. Order = the order collect lists them.
KIND_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    EC2_INSTANCE: (("ec2", "describe-instances"),),
    LAMBDA_FUNCTION: (("lambda", "list-functions"), ("lambda", "get-policy")),
    CLOUDFORMATION_STACK: (("cloudformation", "describe-stacks"),),
    CODEBUILD_PROJECT: (("codebuild", "list-projects"), ("codebuild", "batch-get-projects")),
    GLUE_DEV_ENDPOINT: (("glue", "get-dev-endpoints"),),
    GLUE_JOB: (("glue", "get-jobs"),),
    SAGEMAKER_NOTEBOOK: (
        ("sagemaker", "list-notebook-instances"),
        ("sagemaker", "describe-notebook-instance"),
    ),
    SSM_MANAGED_INSTANCE: (("ssm", "describe-instance-information"),),
    ECS_CLUSTER: (("ecs", "list-clusters"), ("ecs", "describe-clusters")),
    ECS_SERVICE: (("ecs", "list-services"), ("ecs", "describe-services")),
    ECS_TASK_DEFINITION: (("ecs", "list-task-definitions"), ("ecs", "describe-task-definition")),
    DATAPIPELINE_PIPELINE: (("datapipeline", "list-pipelines"), ("datapipeline", "describe-pipelines")),
    EC2_LAUNCH_TEMPLATE: (("ec2", "describe-launch-templates"), ("ec2", "describe-launch-template-versions")),
    BATCH_COMPUTE_ENVIRONMENT: (("batch", "describe-compute-environments"),),
    BATCH_JOB_QUEUE: (("batch", "describe-job-queues"),),
    BATCH_JOB_DEFINITION: (("batch", "describe-job-definitions"),),
    CODEDEPLOY_DEPLOYMENT_GROUP: (
        ("codedeploy", "list-applications"),
        ("codedeploy", "list-deployment-groups"),
        ("codedeploy", "get-deployment-group"),
    ),
    APPRUNNER_SERVICE: (("apprunner", "list-services"), ("apprunner", "describe-service")),
    AGENTCORE_RUNTIME: (
        ("bedrock-agentcore-control", "list-agent-runtimes"),
        ("bedrock-agentcore-control", "get-agent-runtime"),
    ),
}
RESOURCE_KINDS: tuple[str, ...] = tuple(KIND_FILES)
