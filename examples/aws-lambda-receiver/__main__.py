"""A Bandwidth notification receiver on AWS Lambda, and the subscription that points Bandwidth at it.

    Lambda (handler.py + the receiver kit) --FunctionUrl--> Subscription("orders", callback_url=...)

The function URL's address flows straight into the subscription, so `pulumi up` creates both in the
right order and `pulumi destroy` removes the subscription before the endpoint disappears.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
from bundle import HERE, function_code

from bandwidth_provider import Subscription

RUNTIME = "python3.12"

config = pulumi.Config()
callback_username = config.get("callbackUsername") or "bandwidth"
callback_password = config.require_secret("callbackPassword")
layer_dir = HERE / (config.get("layerDir") or "build/layer")
if not (layer_dir / "python").is_dir():
    pulumi.log.warn(
        f"{layer_dir}/python does not exist: build the lxml layer first (see README.md), "
        "or the function will fail to import lxml"
    )


role = aws.iam.Role(
    "receiver-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)
aws.iam.RolePolicyAttachment(
    "receiver-logs", role=role.name, policy_arn=aws.iam.ManagedPolicy.AWS_LAMBDA_BASIC_EXECUTION_ROLE
)

lxml_layer = aws.lambda_.LayerVersion(
    "receiver-lxml",
    layer_name="bandwidth-receiver-lxml",
    code=pulumi.FileArchive(str(layer_dir)),
    compatible_runtimes=[RUNTIME],
    compatible_architectures=["x86_64"],
)

function = aws.lambda_.Function(
    "receiver",
    runtime=RUNTIME,
    architectures=["x86_64"],
    handler="handler.lambda_handler",
    role=role.arn,
    code=function_code(),
    layers=[lxml_layer.arn],
    timeout=10,
    memory_size=256,
    environment=aws.lambda_.FunctionEnvironmentArgs(
        variables={
            "BANDWIDTH_CALLBACK_USERNAME": callback_username,
            "BANDWIDTH_CALLBACK_PASSWORD": callback_password,
        }
    ),
)

# Public URL: Bandwidth cannot sign AWS requests; the handler's Basic challenge is the gate.
function_url = aws.lambda_.FunctionUrl("receiver-url", function_name=function.name, authorization_type="NONE")
# Since October 2025 a public function URL needs both permissions.
public_url = aws.lambda_.Permission(
    "receiver-url-public",
    action="lambda:InvokeFunctionUrl",
    function=function.name,
    principal="*",
    function_url_auth_type="NONE",
)
public_invoke = aws.lambda_.Permission(
    "receiver-invoke-public",
    action="lambda:InvokeFunction",
    function=function.name,
    principal="*",
    invoked_via_function_url=True,
)

orders = Subscription(
    "orders",
    order_type="orders",
    callback_url=function_url.function_url.apply(lambda url: url.rstrip("/") + "/bandwidth"),
    callback_username=callback_username,
    callback_password=callback_password,
    # Bandwidth may deliver right away: only subscribe once the URL is publicly invokable.
    opts=pulumi.ResourceOptions(depends_on=[public_url, public_invoke]),
)

pulumi.export("callback_url", orders.callback_url)
pulumi.export("subscription_id", orders.subscription_id)
pulumi.export("subscription_status", orders.status)
