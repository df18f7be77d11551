"""Amazon Bedrock AgentCore techniques: a code interpreter, agent runtime, harness or browser runs
with a passed execution role that trusts bedrock-agentcore.amazonaws.com, and the source then runs
its own code (or drives the browser) inside it.
https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/code-interpreter-resource-session-management.html
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import pass_role_checker

AGENTCORE = "bedrock-agentcore.amazonaws.com"
SERVICE = "bedrock-agentcore"

CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "bedrock-001",
        services=(AGENTCORE,),
        service_name=SERVICE,
        calls=(
            ("bedrock-agentcore:CreateCodeInterpreter", ""),
            ("bedrock-agentcore:StartCodeInterpreterSession", "code-interpreter-custom"),
            ("bedrock-agentcore:InvokeCodeInterpreter", "code-interpreter-custom"),
        ),
    ),
    pass_role_checker(
        "bedrock-003",
        services=(AGENTCORE,),
        service_name=SERVICE,
        calls=(
            ("bedrock-agentcore:CreateAgentRuntime", ""),
            ("bedrock-agentcore:CreateAgentRuntimeEndpoint", ""),
            ("bedrock-agentcore:CreateWorkloadIdentity", "workload-identity"),
            ("bedrock-agentcore:InvokeAgentRuntimeCommand", "runtime"),
        ),
    ),
    # A harness is a managed agent loop whose sessions have a shell; only the calls every way of
    # it needs are listed (a deny of an optional one would cut nothing).
    pass_role_checker(
        "bedrock-005",
        services=(AGENTCORE,),
        service_name=SERVICE,
        calls=(
            ("bedrock-agentcore:CreateHarness", ""),
            ("bedrock-agentcore:InvokeAgentRuntimeCommand", "runtime"),
        ),
    ),
    pass_role_checker(
        "bedrock-006",
        services=(AGENTCORE,),
        service_name=SERVICE,
        calls=(
            ("bedrock-agentcore:CreateBrowser", ""),
            ("bedrock-agentcore:StartBrowserSession", "browser-custom"),
            ("bedrock-agentcore:ConnectBrowserAutomationStream", ""),
        ),
    ),
)
