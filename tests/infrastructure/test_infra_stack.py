"""The synthesized stack has every property issue 3 and 4 ask for, and agrees with resources.py."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match, Template
from displaysense import resources
from displaysense.config import API_AUTH_ENV, ServiceSettings
from displaysense.observability import REFUSALS_METRIC

from infra.application import build_app
from infra.constructs.lambda_package import POWERTOOLS_VERSION, SERVICE_NAME
from infra.constructs.monitoring_construct import STUCK_METRIC_NAME, STUCK_THRESHOLD_ENV, WATCHDOG_FUNCTION

from .conftest import Synthesized, dumps, env_of

HANDLERS = {
    resources.INGEST_FUNCTION.handler: resources.INGEST_FUNCTION,
    resources.RESULTS_FUNCTION.handler: resources.RESULTS_FUNCTION,
    resources.API_FUNCTION.handler: resources.API_FUNCTION,
    WATCHDOG_FUNCTION.handler: WATCHDOG_FUNCTION,
}


def functions(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """Our Lambdas by handler (CDK's own helper functions excluded)."""
    found = {
        f["Properties"]["Handler"]: f
        for f in stack.of_type("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") in HANDLERS
    }
    assert set(found) == set(HANDLERS)
    return found


def role_statements(stack: Synthesized, function: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def logical_id(stack: Synthesized, resource_type: str, prefix: str) -> str:
    ids = [k for k in stack.of_type(resource_type) if k.startswith(prefix)]
    assert len(ids) == 1, ids
    return ids[0]


# --- S3 ---------------------------------------------------------------------------------------------


def data_bucket(stack: Synthesized) -> dict[str, Any]:
    return stack.one("AWS::S3::Bucket", "StorageDataBucket")


def lifecycle(stack: Synthesized) -> dict[str, dict[str, Any]]:
    rules = data_bucket(stack)["Properties"]["LifecycleConfiguration"]["Rules"]
    return {rule["Id"]: rule for rule in rules}


def test_buckets_block_public_access_encrypt_and_require_tls(default_stack: Synthesized) -> None:
    buckets = default_stack.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2  # data and its access log
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    for policy in default_stack.of_type("AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
        }.items() <= statements[0].items()


def test_data_bucket_is_versioned_and_logs_access(default_stack: Synthesized) -> None:
    props = data_bucket(default_stack)["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    log_bucket = logical_id(default_stack, "AWS::S3::Bucket", "StorageAccessLogBucket")
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": log_bucket}


def test_footage_and_result_pages_expire_as_configured(default_stack: Synthesized) -> None:
    rules = lifecycle(default_stack)
    footage = rules["expire-footage"]
    assert footage["Prefix"] == resources.UPLOADS_PREFIX
    assert footage["ExpirationInDays"] == 7
    # The bucket is versioned: expiring only hides the footage, the noncurrent rule deletes it.
    assert footage["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    pages = rules["expire-result-pages"]
    assert pages["Prefix"] == resources.RESULTS_PREFIX
    assert pages["ExpirationInDays"] == 30
    assert pages["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    housekeeping = rules["housekeeping"]
    assert housekeeping["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert housekeeping["ExpiredObjectDeleteMarker"] is True
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_retention_zero_keeps_a_safety_net_for_footage_never_analysed(variant_stack: Synthesized) -> None:
    rules = lifecycle(variant_stack)
    assert rules["expire-footage"]["ExpirationInDays"] == 3  # footage_safety_net_days
    assert rules["expire-result-pages"]["ExpirationInDays"] == 45
    assert env_of(functions(variant_stack)[resources.RESULTS_FUNCTION.handler])[
        "DS_FOOTAGE_RETENTION_DAYS"
    ] == ("0")


def test_uploads_notify_the_ingest_queue(default_stack: Synthesized) -> None:
    ingest_queue = logical_id(default_stack, "AWS::SQS::Queue", "IngestQueue")
    default_stack.template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": {"Ref": logical_id(default_stack, "AWS::S3::Bucket", "StorageDataBucket")},
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                        "QueueArn": {"Fn::GetAtt": [ingest_queue, "Arn"]},
                    }
                ]
            },
        },
    )
    # Only S3, and only for this bucket, may send to the ingest queue.
    policy = default_stack.one("AWS::SQS::QueuePolicy", "IngestQueuePolicy")
    allow = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow[0]["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::GetAtt": [logical_id(default_stack, "AWS::S3::Bucket", "StorageDataBucket"), "Arn"]
    }


def test_bucket_cors_only_when_origins_are_configured(
    default_stack: Synthesized, variant_stack: Synthesized
) -> None:
    assert "CorsConfiguration" not in data_bucket(default_stack)["Properties"]
    rules = data_bucket(variant_stack)["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rules[0]["AllowedMethods"] == ["PUT"]
    assert rules[0]["AllowedOrigins"] == ["https://dashboard.example.com"]


# --- SQS and SNS -------------------------------------------------------------------------------------


def test_queues_match_resources_py(default_stack: Synthesized) -> None:
    """Visibility timeouts and receive counts come from resources.py, which local mode uses too."""
    for prefix, definition in (
        ("Ingest", resources.INGEST_QUEUE),
        ("Completion", resources.COMPLETION_QUEUE),
    ):
        queue = default_stack.one("AWS::SQS::Queue", f"{prefix}Queue")["Properties"]
        dlq_id = logical_id(default_stack, "AWS::SQS::Queue", f"{prefix}DeadLetterQueue")
        assert queue["VisibilityTimeout"] == definition.visibility_timeout_s
        assert queue["MessageRetentionPeriod"] == definition.retention_days * 86400
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": definition.max_receive_count,
        }
    # A message must stay invisible longer than its consumer may run.
    assert resources.INGEST_QUEUE.visibility_timeout_s >= 6 * resources.INGEST_FUNCTION.timeout_s
    assert resources.COMPLETION_QUEUE.visibility_timeout_s >= 6 * resources.RESULTS_FUNCTION.timeout_s


def test_every_queue_is_encrypted_and_tls_only(default_stack: Synthesized) -> None:
    queues = default_stack.of_type("AWS::SQS::Queue")
    assert len(queues) == 4
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = default_stack.of_type("AWS::SQS::QueuePolicy").values()
    protected = {dumps(q) for p in policies for q in p["Properties"]["Queues"]}
    assert protected == {dumps({"Ref": k}) for k in queues}
    for policy in policies:
        deny = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_event_sources_report_partial_failures_and_cap_concurrency(default_stack: Synthesized) -> None:
    mappings = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: m["Properties"]
        for m in default_stack.of_type("AWS::Lambda::EventSourceMapping").values()
    }
    ingest = mappings[logical_id(default_stack, "AWS::SQS::Queue", "IngestQueue")]
    completion = mappings[logical_id(default_stack, "AWS::SQS::Queue", "CompletionQueue")]
    for mapping, definition, concurrency in (
        (ingest, resources.INGEST_QUEUE, 2),
        (completion, resources.COMPLETION_QUEUE, 5),
    ):
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == definition.batch_size
        assert mapping["MaximumBatchingWindowInSeconds"] == definition.max_batching_window_s
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": concurrency}
    assert ingest["FunctionName"] == {
        "Ref": logical_id(default_stack, "AWS::Lambda::Function", "IngestFunction")
    }
    assert completion["FunctionName"] == {
        "Ref": logical_id(default_stack, "AWS::Lambda::Function", "ResultsFunction")
    }


def test_topics_are_kms_encrypted_and_tls_only(default_stack: Synthesized) -> None:
    key_id = logical_id(default_stack, "AWS::KMS::Key", "TopicKey")
    assert default_stack.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    topics = default_stack.of_type("AWS::SNS::Topic")
    assert len(topics) == 2
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for policy in default_stack.of_type("AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
    # CloudWatch encrypts alarm notifications with the key itself (alias/aws/sns would not work).
    key_policy = default_stack.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        for s in key_policy
    )


def test_completion_queue_receives_sns_envelopes(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "RawMessageDelivery": False,
            "TopicArn": {"Ref": logical_id(default_stack, "AWS::SNS::Topic", "CompletionCompletionTopic")},
            "Endpoint": {
                "Fn::GetAtt": [logical_id(default_stack, "AWS::SQS::Queue", "CompletionQueue"), "Arn"]
            },
        },
    )


def test_rekognition_role_is_trusted_by_rekognition_and_publishes_to_the_topic_only(
    default_stack: Synthesized,
) -> None:
    role_id = logical_id(default_stack, "AWS::IAM::Role", "CompletionRekognitionRole")
    role = default_stack.resources[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "rekognition.amazonaws.com"},
        }
    ]
    assert "ManagedPolicyArns" not in role
    topic = {"Ref": logical_id(default_stack, "AWS::SNS::Topic", "CompletionCompletionTopic")}
    key = {"Fn::GetAtt": [logical_id(default_stack, "AWS::KMS::Key", "TopicKey"), "Arn"]}
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in default_stack.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert policies == [
        [
            {"Action": "sns:Publish", "Effect": "Allow", "Resource": topic},
            {"Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Effect": "Allow", "Resource": key},
        ]
    ]


# --- DynamoDB ----------------------------------------------------------------------------------------


def test_table_matches_resources_py(default_stack: Synthesized) -> None:
    table = default_stack.one("AWS::DynamoDB::Table", "StorageTable")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": resources.TABLE.partition_key, "KeyType": "HASH"},
        {"AttributeName": resources.TABLE.sort_key, "KeyType": "RANGE"},
    ]
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in resources.TABLE.indexes}
    for index in resources.TABLE.indexes:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}
    # Nothing in the table expires by itself: every item is deleted by what owns it (docs/security.md).
    assert "TimeToLiveSpecification" not in props
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_data_is_retained_unless_the_stack_is_a_dev_stack(
    default_stack: Synthesized, variant_stack: Synthesized
) -> None:
    table = default_stack.one("AWS::DynamoDB::Table", "StorageTable")
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert data_bucket(default_stack)["DeletionPolicy"] == "Retain"
    assert not default_stack.of_type("Custom::S3AutoDeleteObjects")

    dev_table = variant_stack.one("AWS::DynamoDB::Table", "StorageTable")
    assert dev_table["DeletionPolicy"] == "Delete"
    assert dev_table["Properties"]["DeletionProtectionEnabled"] is False
    assert data_bucket(variant_stack)["DeletionPolicy"] == "Delete"
    assert len(variant_stack.of_type("Custom::S3AutoDeleteObjects")) == 2  # emptied on destroy


# --- Lambda ------------------------------------------------------------------------------------------


def test_functions_run_python313_on_arm64_with_resources_py_sizes(default_stack: Synthesized) -> None:
    for handler, function in functions(default_stack).items():
        props = function["Properties"]
        definition = HANDLERS[handler]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["Timeout"] == definition.timeout_s
        assert props["MemorySize"] == definition.memory_mb
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "ReservedConcurrentExecutions" not in props  # reserves nothing from the account pool


def test_functions_use_the_powertools_layer_of_the_pinned_version(default_stack: Synthesized) -> None:
    """The layer on AWS holds the Powertools the tests ran: its ARN is the deploy-time value of
    Powertools' public SSM parameter for the version requirements.txt pins."""
    parameters = default_stack.template_json["Parameters"]
    layer_parameters = [
        name
        for name, p in parameters.items()
        if p.get("Default") == f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
    ]
    assert len(layer_parameters) == 1
    assert parameters[layer_parameters[0]]["Type"] == "AWS::SSM::Parameter::Value<String>"
    for function in functions(default_stack).values():
        assert function["Properties"]["Layers"][:1] == [{"Ref": layer_parameters[0]}]


def test_the_pinned_powertools_is_the_one_installed() -> None:
    assert importlib.metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_an_explicit_layer_arn_replaces_the_ssm_lookup(tmp_path: Path) -> None:
    arn = "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:99"
    built = build_app({"powertools_layer_arn": arn, "cdk_nag": False}, outdir=str(tmp_path))
    template = Template.from_stack(built.stack).to_json()
    assert not any("powertools" in str(p.get("Default")) for p in template.get("Parameters", {}).values())
    layers = [
        f["Properties"]["Layers"][0]
        for f in template["Resources"].values()
        if f["Type"] == "AWS::Lambda::Function" and f["Properties"].get("Handler") in HANDLERS
    ]
    assert layers == [arn] * len(HANDLERS)


def test_function_code_is_the_lambdas_folder_without_build_debris(default_stack: Synthesized) -> None:
    code = {json.dumps(f["Properties"]["Code"], sort_keys=True) for f in functions(default_stack).values()}
    assert len(code) == 1  # one asset shared by all functions
    stack_id = default_stack.built.stack.artifact_id
    assets = json.loads((default_stack.assembly_dir / f"{stack_id}.assets.json").read_text())
    asset_paths = [a["source"]["path"] for a in assets["files"].values() if a["source"]["packaging"] == "zip"]
    code_paths = [p for p in asset_paths if (default_stack.assembly_dir / p / "displaysense").is_dir()]
    assert len(code_paths) == 1
    root = default_stack.assembly_dir / code_paths[0]
    assert (root / "displaysense" / "handlers" / "__init__.py").is_file()
    assert (root / "displaysense" / "config.py").is_file()
    debris = [p for p in root.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    assert debris == []


def test_environment_is_exactly_service_settings_plus_powertools(default_stack: Synthesized) -> None:
    expected = set(ServiceSettings(table_name="t", bucket_name="b").to_env()) | {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    table = {"Ref": logical_id(default_stack, "AWS::DynamoDB::Table", "StorageTable")}
    for handler, function in functions(default_stack).items():
        env = env_of(function)
        extra = {STUCK_THRESHOLD_ENV} if handler == WATCHDOG_FUNCTION.handler else set()
        if handler == resources.API_FUNCTION.handler:
            extra = {API_AUTH_ENV}  # the dashboard page says when a key cannot work
            assert env[API_AUTH_ENV] == "API_KEY"
        assert set(env) == expected | extra
        assert env["DS_TABLE_NAME"] == table
        assert env["DS_BUCKET_NAME"] == {
            "Ref": logical_id(default_stack, "AWS::S3::Bucket", "StorageDataBucket")
        }
        assert env["DS_COMPLETION_TOPIC_ARN"] == {
            "Ref": logical_id(default_stack, "AWS::SNS::Topic", "CompletionCompletionTopic")
        }
        assert env["DS_REKOGNITION_ROLE_ARN"] == {
            "Fn::GetAtt": [logical_id(default_stack, "AWS::IAM::Role", "CompletionRekognitionRole"), "Arn"]
        }
        assert env["DS_COMPLETION_QUEUE_URL"] == {
            "Ref": logical_id(default_stack, "AWS::SQS::Queue", "CompletionQueue")
        }
        assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DisplaySense"
        assert env["LOG_LEVEL"] == "INFO"
        assert env["DS_FACES_ONLY"] == "false"
        assert env["DS_DWELL_S"] == "5.0"


def test_context_reaches_the_lambda_environment(variant_stack: Synthesized) -> None:
    for handler, function in functions(variant_stack).items():
        env = env_of(function)
        assert env["DS_FACES_ONLY"] == "true"
        assert env["DS_DWELL_S"] == "8.0"
        assert env["DS_CORS_ORIGINS"] == "https://dashboard.example.com"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DisplaySenseDev"
        if handler == WATCHDOG_FUNCTION.handler:
            assert env[STUCK_THRESHOLD_ENV] == "60"


def test_log_groups_keep_logs_for_the_configured_days(default_stack: Synthesized) -> None:
    groups = default_stack.of_type("AWS::Logs::LogGroup")
    assert len(groups) == 5  # four functions and the API access log
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {30}
    for function in functions(default_stack).values():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert group["Ref"] in groups


# --- IAM ---------------------------------------------------------------------------------------------


def test_no_statement_grants_every_action(default_stack: Synthesized) -> None:
    for policy in default_stack.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in actions_of(statement):
                assert action != "*" and not action.endswith(":*"), action
                assert action != "dynamodb:Scan"  # every access pattern is a key or index Query


def test_only_ingest_may_pass_a_role_and_only_the_rekognition_role(default_stack: Synthesized) -> None:
    role_arn = {
        "Fn::GetAtt": [logical_id(default_stack, "AWS::IAM::Role", "CompletionRekognitionRole"), "Arn"]
    }
    for handler, function in functions(default_stack).items():
        passes = [s for s in role_statements(default_stack, function) if "iam:PassRole" in actions_of(s)]
        if handler == resources.INGEST_FUNCTION.handler:
            assert passes == [
                {
                    "Action": "iam:PassRole",
                    "Condition": {"StringEquals": {"iam:PassedToService": "rekognition.amazonaws.com"}},
                    "Effect": "Allow",
                    "Resource": role_arn,
                    "Sid": "PassRekognitionRole",
                }
            ]
        else:
            assert passes == []


def grants(stack: Synthesized, handler: str) -> dict[str, list[str]]:
    """action -> resources (as JSON), for one function's role."""
    out: dict[str, list[str]] = {}
    for statement in role_statements(stack, functions(stack)[handler]):
        targets = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions_of(statement):
            out.setdefault(action, []).extend(dumps(t) for t in targets)
    return out


def prefix_arn(stack: Synthesized, prefix: str) -> str:
    bucket = logical_id(stack, "AWS::S3::Bucket", "StorageDataBucket")
    return dumps({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]})


def test_ingest_permissions(default_stack: Synthesized) -> None:
    got = grants(default_stack, resources.INGEST_FUNCTION.handler)
    uploads = prefix_arn(default_stack, "uploads/")
    assert got["s3:GetObject"] == [uploads]
    assert got["s3:GetObjectVersion"] == [uploads]
    assert got["rekognition:StartLabelDetection"] == ['"*"']
    assert got["rekognition:StartFaceDetection"] == ['"*"']
    assert "sqs:ChangeMessageVisibility" in got
    assert "dynamodb:PutItem" in got
    assert "dynamodb:Query" in got
    assert not any(a.startswith("rekognition:Get") for a in got)
    assert not any(a in got for a in ("s3:PutObject", "s3:DeleteObject", "sns:Publish"))


def test_results_permissions(default_stack: Synthesized) -> None:
    got = grants(default_stack, resources.RESULTS_FUNCTION.handler)
    assert got["rekognition:GetLabelDetection"] == ['"*"']
    assert got["rekognition:GetFaceDetection"] == ['"*"']
    assert got["s3:PutObject"] == [prefix_arn(default_stack, "results/")]
    assert got["s3:GetObject"] == [prefix_arn(default_stack, "results/")]
    assert got["s3:DeleteObjectVersion"] == [prefix_arn(default_stack, "uploads/")]
    completion = dumps(
        {"Fn::GetAtt": [logical_id(default_stack, "AWS::SQS::Queue", "CompletionQueue"), "Arn"]}
    )
    assert got["sqs:SendMessage"] == [completion]
    assert not any(a.startswith("rekognition:Start") or a == "iam:PassRole" for a in got)


def test_api_and_watchdog_permissions(default_stack: Synthesized) -> None:
    api = grants(default_stack, resources.API_FUNCTION.handler)
    assert api["s3:PutObject"] == [prefix_arn(default_stack, "uploads/")]
    assert not any(a.startswith(("rekognition:", "sqs:", "iam:")) for a in api)
    watchdog = grants(default_stack, WATCHDOG_FUNCTION.handler)
    assert "dynamodb:Query" in watchdog
    writes = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
    assert not any(a in watchdog for a in writes)
    assert not any(a.startswith("s3:") for a in watchdog)


def test_each_function_has_its_own_role_without_managed_policies(default_stack: Synthesized) -> None:
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions(default_stack).values()]
    assert len(set(roles)) == len(roles)
    for role in roles:
        assert "ManagedPolicyArns" not in default_stack.resources[role]["Properties"]


# --- monitoring --------------------------------------------------------------------------------------


def alarms(stack: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in stack.of_type("AWS::CloudWatch::Alarm").values()]


def test_every_dead_letter_queue_has_an_alarm(default_stack: Synthesized) -> None:
    for prefix in ("Ingest", "Completion"):
        dlq = logical_id(default_stack, "AWS::SQS::Queue", f"{prefix}DeadLetterQueue")
        matching = [
            a
            for a in alarms(default_stack)
            if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
        ]
        assert len(matching) == 1
        assert matching[0]["Threshold"] == 0
        assert matching[0]["ComparisonOperator"] == "GreaterThanThreshold"


def test_every_function_has_error_and_throttle_alarms(default_stack: Synthesized) -> None:
    for function_id in (
        logical_id(default_stack, "AWS::Lambda::Function", prefix)
        for prefix in ("IngestFunction", "ResultsFunction", "ApiFunction", "MonitoringWatchdog")
    ):
        for metric in ("Errors", "Throttles"):
            matching = [
                a
                for a in alarms(default_stack)
                if a["MetricName"] == metric
                and a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
            ]
            assert len(matching) == 1, (function_id, metric)
            assert matching[0]["Threshold"] == 0
            assert matching[0]["ComparisonOperator"] == "GreaterThanThreshold"


def test_stuck_videos_alarm_on_the_watchdog_metric(
    default_stack: Synthesized, variant_stack: Synthesized
) -> None:
    for stack, namespace, minutes in (
        (default_stack, "DisplaySense", 15),
        (variant_stack, "DisplaySenseDev", 10),
    ):
        stuck = [a for a in alarms(stack) if a["MetricName"] == STUCK_METRIC_NAME]
        assert len(stuck) == 1
        assert stuck[0]["Namespace"] == namespace
        assert stuck[0]["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
        assert stuck[0]["Threshold"] == 0
        assert stuck[0]["Period"] == minutes * 60
        assert stuck[0]["TreatMissingData"] == "ignore"
        rule = next(iter(stack.of_type("AWS::Events::Rule").values()))["Properties"]
        assert rule["ScheduleExpression"] == f"rate({minutes} minutes)"
        watchdog = logical_id(stack, "AWS::Lambda::Function", "MonitoringWatchdog")
        assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [watchdog, "Arn"]}


def test_repeated_rekognition_refusals_alarm(default_stack: Synthesized, variant_stack: Synthesized) -> None:
    """Refused calls are retried for up to a day before a dead-letter queue would tell anyone."""
    for stack, namespace in ((default_stack, "DisplaySense"), (variant_stack, "DisplaySenseDev")):
        [refusals] = [a for a in alarms(stack) if a["MetricName"] == REFUSALS_METRIC]
        assert refusals["Namespace"] == namespace
        assert refusals["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
        assert (refusals["Statistic"], refusals["Period"], refusals["Threshold"]) == ("Sum", 900, 0)
        # Two of the last four quarter-hours: a refusal that outlasts IAM's delay after a deployment.
        assert (refusals["EvaluationPeriods"], refusals["DatapointsToAlarm"]) == (4, 2)
        assert refusals["TreatMissingData"] == "notBreaching"


def test_alarms_notify_the_alarm_topic_and_email_when_configured(
    default_stack: Synthesized, variant_stack: Synthesized
) -> None:
    topic = {"Ref": logical_id(default_stack, "AWS::SNS::Topic", "MonitoringAlarmTopic")}
    assert len(alarms(default_stack)) == 2 + 4 * 2 + 1 + 1  # dead letters, functions, stuck, refusals
    assert all(a["AlarmActions"] == [topic] for a in alarms(default_stack))
    assert not [
        s
        for s in default_stack.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    variant_stack.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    # The alarm topic's own policy (TLS only) replaces SNS's default: alarms are allowed explicitly.
    default_stack.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}}
                        )
                    ]
                )
            }
        },
    )


# --- API ---------------------------------------------------------------------------------------------


def methods(stack: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, HTTP method) -> properties, for every API method."""
    api_resources = stack.of_type("AWS::ApiGateway::Resource")

    def path_of(resource_id: Any) -> str:
        if "Fn::GetAtt" in resource_id:
            return "/"
        props = api_resources[resource_id["Ref"]]["Properties"]
        part: str = props["PathPart"]
        return path_of(props["ParentId"]).rstrip("/") + "/" + part

    return {
        (path_of(m["Properties"]["ResourceId"]), m["Properties"]["HttpMethod"]): m["Properties"]
        for m in stack.of_type("AWS::ApiGateway::Method").values()
    }


def test_api_routes_public_pages_and_key_protected_data(default_stack: Synthesized) -> None:
    got = methods(default_stack)
    assert set(got) == {("/", "GET"), ("/docs", "GET"), ("/openapi.json", "GET"), ("/{proxy+}", "ANY")}
    for public in (("/", "GET"), ("/docs", "GET"), ("/openapi.json", "GET")):
        assert got[public]["AuthorizationType"] == "NONE"
        assert not got[public].get("ApiKeyRequired", False)
    data = got[("/{proxy+}", "ANY")]
    assert data["ApiKeyRequired"] is True
    for method in got.values():
        assert method["Integration"]["Type"] == "AWS_PROXY"
        api_function = logical_id(default_stack, "AWS::Lambda::Function", "ApiFunction")
        assert dumps({"Fn::GetAtt": [api_function, "Arn"]}) in dumps(method["Integration"]["Uri"])


def test_api_key_usage_plan_and_throttling(default_stack: Synthesized) -> None:
    assert len(default_stack.of_type("AWS::ApiGateway::ApiKey")) == 1
    plan = default_stack.one("AWS::ApiGateway::UsagePlan", "ApiRestApiUsagePlan")["Properties"]
    assert plan["Throttle"] == {"BurstLimit": 40, "RateLimit": 20}
    assert plan["ApiStages"][0]["Stage"] == {
        "Ref": logical_id(default_stack, "AWS::ApiGateway::Stage", "ApiRestApiDeploymentStage")
    }
    assert len(default_stack.of_type("AWS::ApiGateway::UsagePlanKey")) == 1


def test_api_stage_logs_access_and_errors_without_bodies(default_stack: Synthesized) -> None:
    stage = default_stack.one("AWS::ApiGateway::Stage", "ApiRestApiDeploymentStage")["Properties"]
    access_logs = logical_id(default_stack, "AWS::Logs::LogGroup", "ApiAccessLogs")
    assert dumps({"Ref": access_logs}) in dumps(stage["AccessLogSetting"]["DestinationArn"])
    assert "$context.requestId" in stage["AccessLogSetting"]["Format"]
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "LoggingLevel": "ERROR",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 40,
            "ThrottlingRateLimit": 20,
        }
    ]
    assert stage["TracingEnabled"] is True
    assert len(default_stack.of_type("AWS::ApiGateway::Account")) == 1  # logging role for the account


def test_api_iam_mode_and_cors(variant_stack: Synthesized) -> None:
    got = methods(variant_stack)
    assert got[("/{proxy+}", "ANY")]["AuthorizationType"] == "AWS_IAM"
    assert not got[("/{proxy+}", "ANY")].get("ApiKeyRequired", False)
    assert env_of(functions(variant_stack)[resources.API_FUNCTION.handler])[API_AUTH_ENV] == "IAM"
    assert got[("/", "GET")]["AuthorizationType"] == "NONE"
    assert not variant_stack.of_type("AWS::ApiGateway::ApiKey")
    assert not variant_stack.of_type("AWS::ApiGateway::UsagePlan")
    # CORS: a preflight on every resource, answered without credentials, for the configured origin.
    preflights = {path: m for (path, verb), m in got.items() if verb == "OPTIONS"}
    assert set(preflights) == {"/", "/docs", "/openapi.json", "/{proxy+}"}
    for preflight in preflights.values():
        assert preflight["AuthorizationType"] == "NONE"
        headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert (
            headers["method.response.header.Access-Control-Allow-Origin"] == "'https://dashboard.example.com'"
        )
    # API Gateway's own errors (403, 429) carry the CORS header too.
    responses = variant_stack.of_type("AWS::ApiGateway::GatewayResponse")
    assert {r["Properties"]["ResponseType"] for r in responses.values()} == {"DEFAULT_4XX", "DEFAULT_5XX"}


def test_stack_is_environment_agnostic(default_stack: Synthesized) -> None:
    text = json.dumps(default_stack.template_json)
    assert "123456789012" not in text
    stack = default_stack.built.stack
    assert stack.resolve(stack.account) == {"Ref": "AWS::AccountId"}
    assert stack.resolve(stack.region) == {"Ref": "AWS::Region"}


def test_outputs_tell_devops_where_things_are(default_stack: Synthesized) -> None:
    outputs = set(default_stack.template_json["Outputs"])
    assert {"BucketName", "DropFolder", "TableName", "ApiUrl", "AlarmTopicArn"} <= outputs
    assert any(name.startswith("ApiApiKeyId") for name in outputs)  # the key's value stays in API Gateway


def test_the_api_gets_the_time_zone_layer_with_the_iana_database(default_stack: Synthesized) -> None:
    layers = {
        k: v
        for k, v in default_stack.template_json["Resources"].items()
        if v["Type"] == "AWS::Lambda::LayerVersion"
    }
    assert len(layers) == 1
    (layer_id,) = layers
    with_zones = [
        name for name, f in functions(default_stack).items() if {"Ref": layer_id} in f["Properties"]["Layers"]
    ]
    assert with_zones == ["displaysense.handlers.api.handler"]
    stack_id = default_stack.built.stack.artifact_id
    assets = json.loads((default_stack.assembly_dir / f"{stack_id}.assets.json").read_text())
    roots = [default_stack.assembly_dir / a["source"]["path"] for a in assets["files"].values()]
    zone_files = [root / "python" / "tzdata" / "zoneinfo" / "Europe" / "Berlin" for root in roots]
    assert any(path.is_file() for path in zone_files)
