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
}
assert set(KIND_COLLECTORS) == set(L.RESOURCE_KINDS), "every layout kind needs a collector"
