"""REST API: API Gateway (proxy integration) in front of one API Lambda.

Data routes (`/{proxy+}`) need an API key (usage plan with throttling) or, with `api_auth=IAM`, a
SigV4-signed request. The dashboard (`GET /`, `GET /docs`) and `GET /openapi.json` carry no data and
stay public so a browser can open them.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from displaysense.config import API_AUTH_ENV
from displaysense.resources import API_FUNCTION, UPLOADS_PREFIX

from infra.constructs.lambda_package import TABLE_INDEXES, TABLE_INDEXES_REASON, LambdaPackage, bucket_prefix
from infra.constructs.storage_construct import StorageConstruct
from infra.settings import DeploymentSettings

STAGE_NAME = "v1"
PUBLIC_PATHS = ("/", "/docs", "/openapi.json")
CORS_HEADERS = ("Content-Type", "Authorization", "X-Api-Key", "X-Amz-Date", "X-Amz-Security-Token")
CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        storage: StorageConstruct,
        package: LambdaPackage,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = package.function(
            self,
            "Function",
            API_FUNCTION,
            description="DisplaySense API: metrics, videos, uploads, A/B comparison, dashboard",
            # The dashboard page says so when the data routes want SigV4, which a page cannot send.
            extra_environment={API_AUTH_ENV: settings.api_auth},
            time_zones=True,  # metrics in a store's time zone (tz=)
            wildcards=[
                (
                    bucket_prefix(UPLOADS_PREFIX),
                    "s3:PutObject on uploads/ of the one data bucket: presigned upload URLs are signed "
                    "with this role, for keys (store/camera/time) only known at run time.",
                ),
                (TABLE_INDEXES, TABLE_INDEXES_REASON),
            ],
        )
        storage.grant_table_read_write(self.function)
        # Presigned upload URLs are signed with this role: it may put objects into uploads/ only.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="PresignUploads", actions=["s3:PutObject"], resources=[storage.uploads_arn]
            )
        )

        access_logs = logs.LogGroup(self, "AccessLogs", removal_policy=removal_policy)
        cfn_access_logs = access_logs.node.default_child
        assert isinstance(cfn_access_logs, logs.CfnLogGroup)
        cfn_access_logs.retention_in_days = settings.log_retention_days

        cors = (
            apigw.CorsOptions(
                allow_origins=list(settings.cors_origins),
                allow_methods=list(CORS_METHODS),
                allow_headers=list(CORS_HEADERS),
                max_age=Duration.hours(1),
            )
            if settings.cors_origins
            else None
        )
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{settings.stack_name}-api",
            description="DisplaySense REST API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes access and execution logs through an account-wide role; creating it
            # here makes the first deployment into a fresh account work. It is retained on destroy
            # because other APIs of the account may rely on it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            default_cors_preflight_options=cors,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Execution logs at ERROR only; request/response bodies (data traces) never.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=settings.api_throttle_rate_limit,
                throttling_burst_limit=settings.api_throttle_burst_limit,
            ),
        )
        integration = apigw.LambdaIntegration(self.function, proxy=True, allow_test_invoke=False)

        public = apigw.AuthorizationType.NONE
        self.public_methods = [
            self.api.root.add_method("GET", integration, authorization_type=public),
            self.api.root.add_resource("docs").add_method("GET", integration, authorization_type=public),
            self.api.root.add_resource("openapi.json").add_method(
                "GET", integration, authorization_type=public
            ),
        ]
        use_iam = settings.api_auth == "IAM"
        # A plain `{proxy+}` resource, not `add_proxy()`: that one mirrors its methods onto `/`, which
        # must stay GET-only and public.
        self.proxy = self.api.root.add_resource("{proxy+}")
        self.data_method = self.proxy.add_method(
            "ANY",
            integration,
            authorization_type=apigw.AuthorizationType.IAM if use_iam else apigw.AuthorizationType.NONE,
            api_key_required=not use_iam,
        )

        self.api_key: apigw.IApiKey | None = None
        if not use_iam:
            self.api_key = self.api.add_api_key("ApiKey", description="DisplaySense data routes")
            plan = self.api.add_usage_plan(
                "UsagePlan",
                name=f"{settings.stack_name}-default",
                description="Default plan of the DisplaySense API key",
                throttle=apigw.ThrottleSettings(
                    rate_limit=settings.api_throttle_rate_limit,
                    burst_limit=settings.api_throttle_burst_limit,
                ),
            )
            plan.add_api_key(self.api_key)
            plan.add_api_stage(stage=self.api.deployment_stage)
            CfnOutput(
                self,
                "ApiKeyId",
                value=self.api_key.key_id,
                description="aws apigateway get-api-key --include-value --api-key <id> shows the key",
            )

        if len(settings.cors_origins) == 1:
            # Errors API Gateway answers itself (missing key: 403, throttled: 429) would otherwise reach
            # the browser without CORS headers and show up as an opaque network error.
            for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
                self.api.add_gateway_response(
                    f"Cors{response_type.response_type}",
                    type=response_type,
                    response_headers={"Access-Control-Allow-Origin": f"'{settings.cors_origins[0]}'"},
                )

        self._suppress_findings(use_iam)

    def _suppress_findings(self, use_iam: bool) -> None:
        auth = "SigV4 (IAM) authorization" if use_iam else "an API key with a usage plan and throttling"
        throttling = "stage throttling" if use_iam else "stage and usage-plan throttling"
        NagSuppressions.add_resource_suppressions(
            self.api,
            [
                NagPackSuppression(
                    id="AwsSolutions-APIG2",
                    reason=(
                        "Proxy integration: every route's parameters and body are validated by the API "
                        "Lambda against its typed models (the same models that produce /openapi.json); a "
                        "second, hand-kept copy in API Gateway would drift from them."
                    ),
                ),
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.api.deployment_stage,
            [
                NagPackSuppression(
                    id="AwsSolutions-APIG3",
                    reason=(
                        f"No WAF web ACL by default: data routes require {auth}, and {throttling} bounds "
                        "abuse; a web ACL (about USD 5/month plus rules) can be associated with the stage "
                        "by the account's security team if required."
                    ),
                ),
            ],
        )
        cloud_watch_role = self.api.node.try_find_child("CloudWatchRole")
        if cloud_watch_role is not None:
            NagSuppressions.add_resource_suppressions(
                cloud_watch_role,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM4",
                        reason=(
                            "The API Gateway account role uses the AWS managed policy "
                            "AmazonAPIGatewayPushToCloudWatchLogs, which AWS documents for this role; it "
                            "only allows writing API Gateway's own logs."
                        ),
                        applies_to=[
                            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                            "AmazonAPIGatewayPushToCloudWatchLogs"
                        ],
                    )
                ],
            )
        cognito_reason = (
            "Clients are camera gateways and back-end systems, not end users with a Cognito user pool: data "
            f"routes require {auth}. The dashboard, /docs and /openapi.json are "
            "public on purpose (no data; see APIG4)."
        )
        public_reason = (
            "Public on purpose: the dashboard page (GET /), the API documentation (GET /docs) and the "
            "OpenAPI document carry no data; a browser must load them before it can ask for a key. "
            "Every data route (/{proxy+}) requires authorization."
        )
        key_reason = (
            "Authorized by a required API key (x-api-key) bound to a usage plan with throttling; "
            "api_auth=IAM switches these routes to SigV4 authorization."
        )
        # CORS preflight (OPTIONS) is answered without credentials, by the browser's rules, from a mock
        # integration that returns only CORS headers.
        preflight_reason = "CORS preflight: browsers send OPTIONS without credentials; mock response only."
        public_paths = {method.node.path for method in self.public_methods}
        for child in self.api.node.find_all():
            if not isinstance(child, apigw.Method):
                continue
            suppressions = [NagPackSuppression(id="AwsSolutions-COG4", reason=cognito_reason)]
            if child.http_method == "OPTIONS":
                suppressions.append(NagPackSuppression(id="AwsSolutions-APIG4", reason=preflight_reason))
            elif child.node.path in public_paths:
                suppressions.append(NagPackSuppression(id="AwsSolutions-APIG4", reason=public_reason))
            elif not use_iam:
                suppressions.append(NagPackSuppression(id="AwsSolutions-APIG4", reason=key_reason))
            NagSuppressions.add_resource_suppressions(child, suppressions)

    @property
    def url(self) -> str:
        return self.api.url
