"""Per-region resource kinds: one small function per kind, each returning {command: response}.

A function raises `Failure` if any of its calls fails; the kind is then recorded as failed in
that region and nothing of it is written (a partial list would read as "these are all").
File names come from `snapshot.layout.KIND_FILES`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from deescalate.collect.session import Aws, Failure
from deescalate.snapshot import layout as L

Files = dict[str, Any]


def _batched(
    call: Callable[..., dict[str, Any]], name: str, ids: list[str], size: int, key: str
) -> list[Any]:
    """`call(name=ids)`, `size` ids at a time (the most the operation takes), its `key` lists joined."""
    out: list[Any] = []
    for i in range(0, len(ids), size):
        out.extend(call(**{name: ids[i : i + size]}).get(key, []))
    return out


def ec2_instances(aws: Aws, region: str) -> Files:
    return {"describe-instances": aws.pages("ec2", region, "describe_instances")}


def lambda_functions(aws: Aws, region: str) -> Files:
    functions = aws.pages("lambda", region, "list_functions")
    policies: dict[str, Any] = {}
    for fn in functions.get("Functions", []):
        try:
            policies[fn["FunctionName"]] = aws.call(
                "lambda", region, "get_policy", FunctionName=fn["FunctionName"]
            )
        except Failure as e:
            if e.call.code != "ResourceNotFoundException":  # the answer for "no resource policy"
                raise
            policies[fn["FunctionName"]] = None
    return {"list-functions": functions, "get-policy": policies}


def cloudformation_stacks(aws: Aws, region: str) -> Files:
    return {"describe-stacks": aws.pages("cloudformation", region, "describe_stacks")}


def codebuild_projects(aws: Aws, region: str) -> Files:
    names = aws.pages("codebuild", region, "list_projects")
    projects = _batched(  # BatchGetProjects takes at most 100
        partial(aws.call, "codebuild", region, "batch_get_projects"), "names", names.get("projects", []), 100,
        "projects",
    )
    return {"list-projects": names, "batch-get-projects": {"projects": projects}}


def glue_dev_endpoints(aws: Aws, region: str) -> Files:
    return {"get-dev-endpoints": aws.pages("glue", region, "get_dev_endpoints")}


def glue_jobs(aws: Aws, region: str) -> Files:
    return {"get-jobs": aws.pages("glue", region, "get_jobs")}


def sagemaker_notebooks(aws: Aws, region: str) -> Files:
    listed = aws.pages("sagemaker", region, "list_notebook_instances")
    described = {
        nb["NotebookInstanceName"]: aws.call(
            "sagemaker", region, "describe_notebook_instance", NotebookInstanceName=nb["NotebookInstanceName"]
        )
        for nb in listed.get("NotebookInstances", [])
    }
    return {"list-notebook-instances": listed, "describe-notebook-instance": described}


def ssm_instances(aws: Aws, region: str) -> Files:
    return {"describe-instance-information": aws.pages("ssm", region, "describe_instance_information")}


def ecs_clusters(aws: Aws, region: str) -> Files:
    arns = aws.pages("ecs", region, "list_clusters")
    clusters = _batched(  # DescribeClusters: 100 at most
        partial(aws.call, "ecs", region, "describe_clusters"), "clusters", arns.get("clusterArns", []), 100,
        "clusters",
    )
    return {"list-clusters": arns, "describe-clusters": {"clusters": clusters}}


def ecs_services(aws: Aws, region: str) -> Files:
    listed: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for cluster in aws.pages("ecs", region, "list_clusters").get("clusterArns", []):
        listed[cluster] = aws.pages("ecs", region, "list_services", cluster=cluster)
        services = _batched(  # DescribeServices: 10 at most
            partial(aws.call, "ecs", region, "describe_services", cluster=cluster), "services",
            listed[cluster].get("serviceArns", []), 10, "services",
        )
        described[cluster] = {"services": services}
    return {"list-services": listed, "describe-services": described}


def ecs_task_definitions(aws: Aws, region: str) -> Files:
    arns = aws.pages("ecs", region, "list_task_definitions", status="ACTIVE")
    described = {
        arn: aws.call("ecs", region, "describe_task_definition", taskDefinition=arn)
        for arn in arns.get("taskDefinitionArns", [])
    }
    return {"list-task-definitions": arns, "describe-task-definition": described}


def datapipeline_pipelines(aws: Aws, region: str) -> Files:
    listed = aws.pages("datapipeline", region, "list_pipelines")
    ids = [p["id"] for p in listed.get("pipelineIdList", [])]
    described = _batched(  # DescribePipelines takes at most 25 ids
        partial(aws.call, "datapipeline", region, "describe_pipelines"), "pipelineIds", ids, 25,
        "pipelineDescriptionList",
    )
    return {"list-pipelines": listed, "describe-pipelines": {"pipelineDescriptionList": described}}


def ec2_launch_templates(aws: Aws, region: str) -> Files:
    listed = aws.pages("ec2", region, "describe_launch_templates")
    # The default version of each template is what a launch without a version uses.
    versions = {
        lt["LaunchTemplateId"]: aws.call(
            "ec2", region, "describe_launch_template_versions",
            LaunchTemplateId=lt["LaunchTemplateId"], Versions=["$Default"],
        )
        for lt in listed.get("LaunchTemplates", [])
    }
    return {"describe-launch-templates": listed, "describe-launch-template-versions": versions}


def batch_compute_environments(aws: Aws, region: str) -> Files:
    return {"describe-compute-environments": aws.pages("batch", region, "describe_compute_environments")}


def batch_job_queues(aws: Aws, region: str) -> Files:
    return {"describe-job-queues": aws.pages("batch", region, "describe_job_queues")}


def batch_job_definitions(aws: Aws, region: str) -> Files:
    listed = aws.pages("batch", region, "describe_job_definitions", status="ACTIVE")
    return {"describe-job-definitions": listed}


def codedeploy_deployment_groups(aws: Aws, region: str) -> Files:
    apps = aws.pages("codedeploy", region, "list_applications")
    listed: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for app in apps.get("applications", []):
        listed[app] = aws.pages("codedeploy", region, "list_deployment_groups", applicationName=app)
        for group in listed[app].get("deploymentGroups", []):
            groups[f"{app}/{group}"] = aws.call(
                "codedeploy", region, "get_deployment_group", applicationName=app, deploymentGroupName=group
            )
    return {"list-applications": apps, "list-deployment-groups": listed, "get-deployment-group": groups}


def apprunner_services(aws: Aws, region: str) -> Files:
    # ListServices has no paginator in botocore: follow NextToken here.
    summaries: list[Any] = []
    token: str | None = None
    while True:
        page = (
            aws.call("apprunner", region, "list_services", NextToken=token)
            if token
            else aws.call("apprunner", region, "list_services")
        )
        summaries.extend(page.get("ServiceSummaryList", []))
        token = page.get("NextToken")
        if not token:
            break
    listed = {"ServiceSummaryList": summaries}
    described = {
        s["ServiceArn"]: aws.call("apprunner", region, "describe_service", ServiceArn=s["ServiceArn"])
        for s in listed.get("ServiceSummaryList", [])
    }
    return {"list-services": listed, "describe-service": described}


def agentcore_runtimes(aws: Aws, region: str) -> Files:
    service = "bedrock-agentcore-control"
    listed = aws.pages(service, region, "list_agent_runtimes")
    described = {
        rid: aws.call(service, region, "get_agent_runtime", agentRuntimeId=rid)
        for rid in (r["agentRuntimeId"] for r in listed.get("agentRuntimes", []))
    }
    return {"list-agent-runtimes": listed, "get-agent-runtime": described}


KIND_COLLECTORS: dict[str, tuple[str, Callable[[Aws, str], Files]]] = {
    L.EC2_INSTANCE: ("ec2", ec2_instances),
    L.LAMBDA_FUNCTION: ("lambda", lambda_functions),
    L.CLOUDFORMATION_STACK: ("cloudformation", cloudformation_stacks),
    L.CODEBUILD_PROJECT: ("codebuild", codebuild_projects),
    L.GLUE_DEV_ENDPOINT: ("glue", glue_dev_endpoints),
    L.GLUE_JOB: ("glue", glue_jobs),
    L.SAGEMAKER_NOTEBOOK: ("sagemaker", sagemaker_notebooks),
    L.SSM_MANAGED_INSTANCE: ("ssm", ssm_instances),
    L.ECS_CLUSTER: ("ecs", ecs_clusters),
    L.ECS_SERVICE: ("ecs", ecs_services),
    L.ECS_TASK_DEFINITION: ("ecs", ecs_task_definitions),
    L.DATAPIPELINE_PIPELINE: ("datapipeline", datapipeline_pipelines),
    L.EC2_LAUNCH_TEMPLATE: ("ec2", ec2_launch_templates),
    L.BATCH_COMPUTE_ENVIRONMENT: ("batch", batch_compute_environments),
    L.BATCH_JOB_QUEUE: ("batch", batch_job_queues),
    L.BATCH_JOB_DEFINITION: ("batch", batch_job_definitions),
    L.CODEDEPLOY_DEPLOYMENT_GROUP: ("codedeploy", codedeploy_deployment_groups),
    L.APPRUNNER_SERVICE: ("apprunner", apprunner_services),
    L.AGENTCORE_RUNTIME: ("bedrock-agentcore-control", agentcore_runtimes),
}
assert set(KIND_COLLECTORS) == set(L.RESOURCE_KINDS), "every layout kind needs a collector"
