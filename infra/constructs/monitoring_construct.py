"""Watchdog for stuck videos, and alarms on dead letters, Lambda errors and throttles, stuck videos
and Rekognition refusals.

The watchdog and the handlers publish their counts through Powertools Metrics (embedded metric
format: no cloudwatch:PutMetricData permission) in the stack's namespace with the dimension
service=displaysense; docs/deploy.md, "Operate", says what each alarm means and what to do.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from displaysense.config import STUCK_THRESHOLD_ENV
from displaysense.observability import REFUSALS_METRIC, STUCK_METRIC
from displaysense.resources import FunctionDefinition

from infra.constructs.lambda_package import SERVICE_NAME, TABLE_INDEXES, TABLE_INDEXES_REASON, LambdaPackage
from infra.constructs.queues import WorkQueue
from infra.constructs.storage_construct import StorageConstruct
from infra.settings import DeploymentSettings

# Not (yet) in resources.py because local mode has no scheduler; see the module docstring.
WATCHDOG_FUNCTION = FunctionDefinition(
    name="watchdog", handler="displaysense.handlers.watchdog.handler", timeout_s=60, memory_mb=256
)
STUCK_METRIC_NAME = STUCK_METRIC
ALARM_PERIOD = Duration.minutes(5)
# Refusals in two of the last four quarter-hours: a refusal that outlasts the first retries (their
# backoff grows from 10 s), not the minute or so IAM may take to apply a change after a deployment.
REFUSALS_PERIOD = Duration.minutes(15)
REFUSALS_EVALUATION_PERIODS = 4
REFUSALS_DATAPOINTS = 2


class MonitoringConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        storage: StorageConstruct,
        package: LambdaPackage,
        topic_key: kms.IKey,
        queues: dict[str, WorkQueue],
        functions: dict[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.watchdog = package.function(
            self,
            "Watchdog",
            WATCHDOG_FUNCTION,
            description="DisplaySense watchdog: counts videos stuck in ANALYZING",
            extra_environment={STUCK_THRESHOLD_ENV: str(settings.stuck_analyzing_minutes)},
            wildcards=[(TABLE_INDEXES, TABLE_INDEXES_REASON)],
        )
        # Queries the store registry and the by_store_status index; never writes.
        storage.grant_table_read(self.watchdog)
        self.schedule = events.Rule(
            self,
            "WatchdogSchedule",
            description="Runs the DisplaySense watchdog",
            schedule=events.Schedule.rate(Duration.minutes(settings.watchdog_interval_minutes)),
            targets=[targets.LambdaFunction(self.watchdog, retry_attempts=2)],
        )

        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="DisplaySense alarms",
            master_key=topic_key,
            enforce_ssl=True,
        )
        # The topic has its own policy (TLS only), which replaces SNS's default one: allow this account's
        # alarms to publish explicitly.
        alarms_of_this_account = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
        self.alarm_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarm_topic.topic_arn],
                conditions={"ArnLike": {"aws:SourceArn": alarms_of_this_account}},
            )
        )
        if settings.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        action = cloudwatch_actions.SnsAction(self.alarm_topic)

        self.alarms: list[cloudwatch.Alarm] = []
        for name, work_queue in queues.items():
            self._alarm(
                f"{name}DeadLetters",
                work_queue.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=ALARM_PERIOD, statistic="Maximum"
                ),
                f"Messages in the {name} dead-letter queue: they failed "
                f"{work_queue.definition.max_receive_count} times; inspect and redrive.",
                action,
            )
        for name, function in {**functions, "Watchdog": self.watchdog}.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                f"The {name} Lambda failed (unhandled error or timeout).",
                action,
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"),
                f"The {name} Lambda was throttled (account concurrency exhausted).",
                action,
            )
        self.stuck_metric = cloudwatch.Metric(
            namespace=settings.metrics_namespace,
            metric_name=STUCK_METRIC_NAME,
            dimensions_map={"service": SERVICE_NAME},
            statistic="Maximum",
            period=Duration.minutes(settings.watchdog_interval_minutes),
        )
        self.stuck_alarm = self._alarm(
            "StuckAnalyzing",
            self.stuck_metric,
            f"Videos ANALYZING for more than {settings.stuck_analyzing_minutes} minutes: a completion "
            "was lost or the results Lambda keeps failing. Rekognition keeps results 7 days.",
            action,
            # Between watchdog runs there is no data point: keep the last state rather than flapping
            # to OK and notifying again on the next run.
            missing=cloudwatch.TreatMissingData.IGNORE,
        )
        self.refusals_alarm = self._alarm(
            "RekognitionRefusals",
            cloudwatch.Metric(
                namespace=settings.metrics_namespace,
                metric_name=REFUSALS_METRIC,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=REFUSALS_PERIOD,
            ),
            "Rekognition keeps refusing DisplaySense's calls (access denied, an object it cannot read, "
            "invalid parameters): videos wait, QUEUED with the refusal as their reason, or ANALYZING. "
            "See the ingest and results logs ('Rekognition refused'), fix the deployment: the retries "
            "then succeed.",
            action,
            evaluation_periods=REFUSALS_EVALUATION_PERIODS,
            datapoints_to_alarm=REFUSALS_DATAPOINTS,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        action: cloudwatch.IAlarmAction,
        *,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(action)
        self.alarms.append(alarm)
        return alarm
