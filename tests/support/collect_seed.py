"""An account seeded through boto3 with one of everything `deescalate collect` reads."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3

ACCT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
REPO = Path(__file__).resolve().parents[2]


def iam_arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(service: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def seed(url: str) -> dict[str, Any]:
    """Create one of everything collect reads; returns what the snapshot must hold."""

    def c(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, endpoint_url=url, region_name=region)

    iam = c("iam")
    boundary = iam.create_policy(PolicyName="Boundary", PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    custom = iam.create_policy(PolicyName="Custom", Path="/team/", PolicyDocument=doc(allow("ec2:Describe*")))
    custom_arn = custom["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=custom_arn, PolicyDocument=doc(allow("iam:Get*")), SetAsDefault=False)
    iam.create_policy_version(PolicyArn=custom_arn, PolicyDocument=doc(allow("iam:List*")), SetAsDefault=True)

    # moto 5.2 keeps no permissions boundary for users and its GetAccountAuthorizationDetails omits
    # user tags, so those two are checked on roles here and on users in tests/unit/test_snapshot.py.
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "red"}])
    iam.create_access_key(UserName="alice")
    iam.create_access_key(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Secret-123!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.put_user_policy(UserName="alice", PolicyName="inline-a", PolicyDocument=doc(allow("sts:AssumeRole")))
    iam.attach_user_policy(UserName="alice", PolicyArn=custom_arn)
    iam.create_user(UserName="bob", Path="/ops/")
    iam.create_group(GroupName="devs", Path="/eng/")
    iam.put_group_policy(
        GroupName="devs", PolicyName="inline-g", PolicyDocument=doc(allow("s3:ListAllMyBuckets"))
    )
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.add_user_to_group(GroupName="devs", UserName="bob")

    iam.create_role(
        RoleName="ec2-admin",
        AssumeRolePolicyDocument=trust("ec2.amazonaws.com"),
        PermissionsBoundary=boundary,
        Tags=[{"Key": "tier", "Value": "0"}],
    )
    iam.attach_role_policy(RoleName="ec2-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_role(RoleName="worker", Path="/svc/", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    iam.put_role_policy(RoleName="worker", PolicyName="inline-r", PolicyDocument=doc(allow("logs:*")))
    iam.create_instance_profile(InstanceProfileName="ec2-admin-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-admin-profile", RoleName="ec2-admin")
    iam.create_instance_profile(InstanceProfileName="empty-profile")
    admin_role, worker = iam_arn("role", "ec2-admin"), iam_arn("role", "svc/worker")
    profile = iam_arn("instance-profile", "ec2-admin-profile")

    ec2 = c("ec2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    with_profile = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, IamInstanceProfile={"Arn": profile},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "deploy", "Value": "web"}]}],
    )["Instances"][0]["InstanceId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"IamInstanceProfile": {"Arn": profile}}
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2_eu = c("ec2", "eu-west-1")
    ami_eu = ec2_eu.describe_images()["Images"][0]["ImageId"]
    plain_eu = ec2_eu.run_instances(ImageId=ami_eu, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def handler(event, context):\n    return None\n")
    lam = c("lambda")
    for name in ("with-policy", "no-policy"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=worker,
            Handler="f.handler",
            Code={"ZipFile": buf.getvalue()},
        )
    lam.add_permission(
        FunctionName="with-policy",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )

    c("cloudformation").create_stack(
        StackName="stack",
        RoleARN=admin_role,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    c("codebuild").create_project(
        name="build",
        serviceRole=admin_role,
        source={"type": "S3", "location": "bucket/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    glue = c("glue")
    glue.create_dev_endpoint(EndpointName="dev", RoleArn=admin_role)
    glue.create_job(Name="etl", Role=admin_role, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    c("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=admin_role
    )
    ecs = c("ecs")
    ecs.create_cluster(clusterName="cluster")
    td = ecs.register_task_definition(
        family="task",
        taskRoleArn=admin_role,
        executionRoleArn=worker,
        containerDefinitions=[{"name": "c", "image": "nginx", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition=td, desiredCount=0)
    pipeline = c("datapipeline").create_pipeline(name="pipe", uniqueId="pipe-1")["pipelineId"]
    batch = c("batch")
    compute = batch.create_compute_environment(
        computeEnvironmentName="compute", type="UNMANAGED", serviceRole=worker
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName="queue", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
    )
    batch.register_job_definition(
        jobDefinitionName="jobdef", type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128, "jobRoleArn": admin_role},
    )
    deploy = c("codedeploy")
    deploy.create_application(applicationName="app")
    deploy.create_deployment_group(
        applicationName="app", deploymentGroupName="group", serviceRoleArn=worker,
        ec2TagFilters=[{"Key": "deploy", "Value": "web", "Type": "KEY_AND_VALUE"}],
    )
    runtime = c("bedrock-agentcore-control").create_agent_runtime(
        agentRuntimeName="agent",
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": f"{ACCT}.dkr.ecr.us-east-1.amazonaws.com/a:1"}},
        networkConfiguration={"networkMode": "PUBLIC"},
        roleArn=admin_role,
    )["agentRuntimeId"]

    org = c("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    ou = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=ACCT, SourceParentId=root, DestinationParentId=ou)
    scp = org.create_policy(
        Name="NoLeave",
        Description="d",
        Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=root)
    return {
        "custom": custom_arn,
        "boundary": boundary,
        "admin_role": admin_role,
        "worker": worker,
        "profile": profile,
        "instance": with_profile,
        "instance_eu": plain_eu,
        "task": td,
        "pipeline": pipeline,
        "template": template,
        "runtime": runtime,
        "root": root,
        "ou": ou,
    }
