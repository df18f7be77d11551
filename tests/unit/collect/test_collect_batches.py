"""Regional collectors that describe listed ids in batches: every id once, no batch over the API's maximum."""

from __future__ import annotations

from typing import Any

import pytest

from deescalate.collect import regional


class BatchAws:
    """Lists `n` ids per list call; a describe call answers one object per id it was given."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        ids = [f"{operation}-{i}" for i in range(self.n)]
        key = {"list_projects": "projects", "list_clusters": "clusterArns", "list_services": "serviceArns"}
        if operation == "list_pipelines":
            return {"pipelineIdList": [{"id": i} for i in ids]}
        return {key[operation]: ids}

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        self.calls.append((operation, params))
        name, key = {
            "batch_get_projects": ("names", "projects"),
            "describe_clusters": ("clusters", "clusters"),
            "describe_services": ("services", "services"),
            "describe_pipelines": ("pipelineIds", "pipelineDescriptionList"),
        }[operation]
        return {key: [{"id": i, **{k: v for k, v in params.items() if k != name}} for i in params[name]]}


@pytest.mark.parametrize(
    ("collector", "operation", "size", "file", "key"),
    [
        (regional.codebuild_projects, "batch_get_projects", 100, "batch-get-projects", "projects"),
        (regional.ecs_clusters, "describe_clusters", 100, "describe-clusters", "clusters"),
        (regional.datapipeline_pipelines, "describe_pipelines", 25, "describe-pipelines",
         "pipelineDescriptionList"),
    ],
)
@pytest.mark.parametrize("n", [0, 1, 25, 101, 250])
def test_every_id_described_once_in_batches_of_at_most_the_maximum(
    collector: Any, operation: str, size: int, file: str, key: str, n: int
) -> None:
    aws = BatchAws(n)
    files = collector(aws, "us-east-1")
    sizes = [len(next(iter(p.values()))) for op, p in aws.calls if op == operation]
    assert sizes == [min(size, n - i) for i in range(0, n, size)]
    assert len(files[file][key]) == n
    assert len({d["id"] for d in files[file][key]}) == n


def test_services_are_described_per_cluster_ten_at_a_time() -> None:
    aws = BatchAws(23)
    files = regional.ecs_services(aws, "us-east-1")
    described = [p for op, p in aws.calls if op == "describe_services"]
    assert len(described) == 23 * 3  # 23 clusters, 10 + 10 + 3 services each
    assert all(len(p["services"]) <= 10 for p in described)
    for cluster, resp in files["describe-services"].items():
        assert len(resp["services"]) == 23
        assert {s["cluster"] for s in resp["services"]} == {cluster}
