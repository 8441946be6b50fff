package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/lakeviews"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/sqs"
)

// StackProps configure the refx stack.
type StackProps struct {
	awscdk.StackProps
	// Config is the deployment's configuration (CDK context).
	Config Config
	// Code returns the code of functions/<name>; nil builds the functions
	// from the repository (builderFor), which is what `cdk deploy` runs.
	Code func(name string) (awslambda.Code, error)
}

// service is the stack under construction: every resource a later part
// refers to.
type service struct {
	stack     awscdk.Stack
	cfg       Config
	table     awsdynamodb.TableV2
	adminKey  awssecretsmanager.Secret
	hashKey   awssecretsmanager.Secret
	functions map[string]awslambda.Function
	// dlqs are the on-failure queues of the stream functions, by name.
	dlqs map[string]awssqs.Queue
	// webhooks is the queue of webhook messages (webhooks.go).
	webhooks awssqs.Queue
	export   *exportPipeline
	api      *httpAPI
}

// NewRefxStack defines the whole refx service: the table from the one table
// definition in pkg/dynamo, one Lambda per function, the HTTP API with every
// route of httpapi.RouteTable, the stream's consumers (the export to S3 with
// its Glue tables and Athena workgroup, the counters' aggregator), alarms
// and a dashboard.
func NewRefxStack(scope constructs.Construct, id string, props *StackProps) (awscdk.Stack, error) {
	code := props.Code
	if code == nil {
		var err error
		if code, err = buildCode(); err != nil {
			return nil, err
		}
	}
	cfg := props.Config
	if cfg.Stage == "" {
		cfg = DefaultConfig()
	}
	stackProps := props.StackProps
	if stackProps.Description == nil {
		stackProps.Description = jsii.String("refx: A/B testing for referral programs (stage " + cfg.Stage + ")")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &stackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("refx:stage"), jsii.String(cfg.Stage), nil)
	s := &service{
		stack: stack, cfg: cfg,
		functions: map[string]awslambda.Function{},
		dlqs:      map[string]awssqs.Queue{},
	}
	s.table = newTable(stack, cfg.RetainData)
	s.adminKey = s.newKey("AdminKey", "refx admin API key: the bearer token of the admin routes")
	s.hashKey = s.newKey("HashKey", "refx referral hash key: keys the hashes of IP addresses and devices")
	var err error
	if s.export, err = s.newExportStorage(); err != nil {
		return nil, err
	}
	s.newWebhookQueue()
	for _, f := range functions {
		c, err := code(f.Name)
		if err != nil {
			return nil, err
		}
		if err := s.newFunction(f, c); err != nil {
			return nil, err
		}
	}
	if err := s.wireStreams(); err != nil {
		return nil, err
	}
	if err := s.wireExport(); err != nil {
		return nil, err
	}
	if err := s.wireLake(); err != nil {
		return nil, err
	}
	s.wireCompaction()
	s.wireWebhooks()
	s.schedule()
	api, err := s.newAPI()
	if err != nil {
		return nil, err
	}
	s.api = api
	s.newMonitoring()
	s.outputs()
	return stack, nil
}

// buildCode builds every function of the table into its asset directory.
func buildCode() (func(string) (awslambda.Code, error), error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.Name
	}
	dirs, err := builderFor(root).Build(names...)
	if err != nil {
		return nil, err
	}
	return func(name string) (awslambda.Code, error) {
		dir, ok := dirs[name]
		if !ok {
			return nil, fmt.Errorf("no build of function %s", name)
		}
		return awslambda.Code_FromAsset(jsii.String(dir), nil), nil
	}, nil
}

func (s *service) removal() awscdk.RemovalPolicy { return removalPolicy(s.cfg.RetainData) }

// removalPolicy keeps a stateful resource when the stack goes if retain.
func removalPolicy(retain bool) awscdk.RemovalPolicy {
	if retain {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// attributeType is the CDK's name of a DynamoDB key type.
func attributeType(t types.ScalarAttributeType) awsdynamodb.AttributeType {
	if t == types.ScalarAttributeTypeN {
		return awsdynamodb.AttributeType_NUMBER
	}
	return awsdynamodb.AttributeType_STRING
}

func newTable(stack awscdk.Stack, retain bool) awsdynamodb.TableV2 {
	spec := dynamo.Table
	var gsis []*awsdynamodb.GlobalSecondaryIndexPropsV2
	for _, ix := range spec.Indexes {
		gsis = append(gsis, &awsdynamodb.GlobalSecondaryIndexPropsV2{
			IndexName:    jsii.String(ix.Name),
			PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(ix.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			SortKey:      &awsdynamodb.Attribute{Name: jsii.String(ix.SortKey), Type: attributeType(ix.SortKeyType())},
		})
	}
	return awsdynamodb.NewTableV2(stack, jsii.String("Table"), &awsdynamodb.TablePropsV2{
		PartitionKey:           &awsdynamodb.Attribute{Name: jsii.String(spec.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                &awsdynamodb.Attribute{Name: jsii.String(spec.SortKey), Type: awsdynamodb.AttributeType_STRING},
		GlobalSecondaryIndexes: &gsis,
		TimeToLiveAttribute:    jsii.String(spec.TTLAttribute),
		DynamoStream:           awsdynamodb.StreamViewType(spec.StreamViewType),
		Billing:                awsdynamodb.Billing_OnDemand(nil),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(retain),
		RemovalPolicy:      removalPolicy(retain),
	})
}

// newKey is a secret generated by Secrets Manager at deploy time: 48
// letters and digits, never in the template.
func (s *service) newKey(id, description string) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(s.stack, jsii.String(id), &awssecretsmanager.SecretProps{
		Description: jsii.String(description),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true), IncludeSpace: jsii.Bool(false),
		},
		RemovalPolicy: s.removal(),
	})
}

// logRetention maps Config.LogRetentionDays (one of logRetentions) to the
// CDK's enum.
func logRetention(days int) awslogs.RetentionDays {
	names := []awslogs.RetentionDays{
		awslogs.RetentionDays_ONE_DAY, awslogs.RetentionDays_THREE_DAYS, awslogs.RetentionDays_FIVE_DAYS,
		awslogs.RetentionDays_ONE_WEEK, awslogs.RetentionDays_TWO_WEEKS, awslogs.RetentionDays_ONE_MONTH,
		awslogs.RetentionDays_TWO_MONTHS, awslogs.RetentionDays_THREE_MONTHS, awslogs.RetentionDays_FOUR_MONTHS,
		awslogs.RetentionDays_FIVE_MONTHS, awslogs.RetentionDays_SIX_MONTHS, awslogs.RetentionDays_ONE_YEAR,
		awslogs.RetentionDays_THIRTEEN_MONTHS, awslogs.RetentionDays_EIGHTEEN_MONTHS, awslogs.RetentionDays_TWO_YEARS,
		awslogs.RetentionDays_THREE_YEARS, awslogs.RetentionDays_FIVE_YEARS, awslogs.RetentionDays_SIX_YEARS,
		awslogs.RetentionDays_SEVEN_YEARS, awslogs.RetentionDays_EIGHT_YEARS, awslogs.RetentionDays_NINE_YEARS,
		awslogs.RetentionDays_TEN_YEARS,
	}
	if i := slices.Index(logRetentions, days); i >= 0 {
		return names[i]
	}
	return awslogs.RetentionDays_ONE_MONTH
}

func (s *service) newLogGroup(id string) awslogs.LogGroup {
	return awslogs.NewLogGroup(s.stack, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     logRetention(s.cfg.LogRetentionDays),
		RemovalPolicy: s.removal(),
	})
}

// functionID is the construct id of a function: "assign" → "AssignFunction".
func functionID(name string) string {
	return strings.ToUpper(name[:1]) + name[1:]
}

// newFunction defines one Lambda with its own log group and its own role,
// granted exactly what its access entry says.
func (s *service) newFunction(f function, code awslambda.Code) error {
	id := functionID(f.Name)
	logs := s.newLogGroup(id + "Logs")
	role := awsiam.NewRole(s.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("refx " + f.Name + " function: only what it uses"),
	})
	for _, st := range s.statements(f, logs) {
		role.AddToPrincipalPolicy(st)
	}
	env, err := s.environment(f)
	if err != nil {
		return err
	}
	level := map[string]awslambda.ApplicationLogLevel{
		"debug": awslambda.ApplicationLogLevel_DEBUG, "info": awslambda.ApplicationLogLevel_INFO,
		"warn": awslambda.ApplicationLogLevel_WARN, "error": awslambda.ApplicationLogLevel_ERROR,
	}[s.cfg.LogLevel]
	var reserved *float64
	if f.public() && s.cfg.ReservedConcurrency > 0 {
		// Caps the instances, hence the service-wide rate a key or an
		// address gets past the per-instance limits, and keeps a flood of
		// public calls from taking the account's concurrency from admin
		// and the stream consumers.
		reserved = jsii.Number(s.cfg.ReservedConcurrency)
	}
	fn := awslambda.NewFunction(s.stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		MemorySize:   jsii.Number(f.Memory),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		Role:         role,
		LogGroup:     logs,
		// The functions log JSON (log/slog); Lambda's JSON format keeps
		// each line one structured record and filters by its level.
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2:        level,
		SystemLogLevelV2:             awslambda.SystemLogLevel_WARN,
		Environment:                  &env,
		ReservedConcurrentExecutions: reserved,
	})
	s.functions[f.Name] = fn
	return nil
}

// statements are a function's IAM policy: writing its log group, and its
// access entry, each on the one resource it concerns.
func (s *service) statements(f function, logs awslogs.LogGroup) []awsiam.PolicyStatement {
	stmt := func(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources,
		})
	}
	dynamodb := func(actions []string) []string {
		out := make([]string, len(actions))
		for i, a := range actions {
			out[i] = "dynamodb:" + a
		}
		return out
	}
	sts := []awsiam.PolicyStatement{
		stmt("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logs.LogGroupArn()),
	}
	a := f.Access
	if len(a.Table) > 0 {
		sts = append(sts, stmt("Table", dynamodb(a.Table), s.table.TableArn()))
	}
	if len(a.Indexes) > 0 {
		var arns []*string
		for _, ix := range dynamo.Table.Indexes {
			arns = append(arns, jsii.String(*s.table.TableArn()+"/index/"+ix.Name))
		}
		sts = append(sts, stmt("Indexes", dynamodb(a.Indexes), arns...))
	}
	if a.Stream {
		sts = append(sts, stmt("ReadStream", dynamodb(streamActions), s.table.TableStreamArn()))
	}
	if a.AdminKey {
		sts = append(sts, stmt("ReadAdminKey", []string{"secretsmanager:GetSecretValue"}, s.adminKey.SecretArn()))
	}
	if a.HashKey {
		sts = append(sts, stmt("ReadHashKey", []string{"secretsmanager:GetSecretValue"}, s.hashKey.SecretArn()))
	}
	if f.Queue {
		sts = append(sts, stmt("ConsumeWebhooks", webhookConsumeActions, s.webhooks.QueueArn()))
	}
	if a.SendWebhooks {
		sts = append(sts, stmt("SendWebhooks", []string{"sqs:SendMessage"}, s.webhooks.QueueArn()))
	}
	if a.Export {
		sts = append(sts, stmt("WriteExport", []string{"s3:PutObject"}, s.export.bucket.ArnForObjects(jsii.String(exportPrefix+"*"))))
	}
	return sts
}

// environment is a function's configuration, checked at synthesis by the
// same code its cold start runs (app.ConfigFromEnv, export's
// LambdaConfigFromEnv), so that a bad context value fails `cdk synth` rather
// than every invocation.
func (s *service) environment(f function) (map[string]*string, error) {
	env := map[string]string{"REFX_LOG_LEVEL": s.cfg.LogLevel}
	a := f.Access
	if len(a.Table) > 0 {
		env["REFX_TABLE"] = *s.table.TableName()
	}
	if a.AdminKey {
		env["REFX_ADMIN_KEY_SECRET_ARN"] = *s.adminKey.SecretArn()
		env["REFX_COUNTER_SHARDS"] = strconv.Itoa(s.cfg.CounterShards)
		env["REFX_REQUIRE_APPROVAL"] = strconv.FormatBool(s.cfg.RequireApproval)
	}
	if a.HashKey {
		env["REFX_HASH_KEY_SECRET_ARN"] = *s.hashKey.SecretArn()
	}
	if f.Routes&httpapi.TrackRoutes != 0 {
		env["REFX_IDEMPOTENCY_TTL"] = envDuration(s.cfg.IdempotencyTTL)
		if len(s.cfg.TrackPaths) > 0 {
			env["REFX_TRACK_PATHS"] = strings.Join(s.cfg.TrackPaths, ",")
		}
	}
	if f.Routes != 0 {
		for k, v := range map[string]string{
			"REFX_PUBLIC_URL": s.cfg.PublicURL, "REFX_FALLBACK_URL": s.cfg.FallbackURL, "REFX_LAMED_PREFIX": s.cfg.LamedPrefix,
		} {
			if v != "" {
				env[k] = v
			}
		}
		env["REFX_KEYLESS"] = strconv.FormatBool(s.cfg.Keyless)
		env["REFX_USER_TTL"] = envDuration(s.cfg.UserTTL)
		if l := s.cfg.Lamed; len(l.Namespaces) > 0 {
			env["REFX_LAMED_NAMESPACES"] = strings.Join(l.Namespaces, ",")
		}
		env["REFX_LAMED_MAX_EXPERIMENTS"] = strconv.Itoa(s.cfg.Lamed.MaxExperiments)
		env["REFX_LAMED_MAX_VARIANTS"] = strconv.Itoa(s.cfg.Lamed.MaxVariants)
		env["REFX_LAMED_MAX_GOALS"] = strconv.Itoa(s.cfg.Lamed.MaxGoals)
		if f.public() {
			env["REFX_RATE_PER_KEY"] = strconv.Itoa(s.cfg.RatePerKey)
			env["REFX_RATE_PER_IP"] = strconv.Itoa(s.cfg.RatePerIP)
		}
		var corsGroups httpapi.Routes
		for _, r := range httpapi.CORSRoutes() {
			corsGroups |= r.Group
		}
		if f.Routes&corsGroups != 0 && len(s.cfg.AllowedOrigins) > 0 {
			env["REFX_ALLOWED_ORIGINS"] = strings.Join(s.cfg.AllowedOrigins, ",")
		}
	}
	if f.Queue || a.SendWebhooks {
		env["REFX_WEBHOOK_QUEUE_URL"] = *s.webhooks.QueueUrl()
	}
	atSnapshotTick := f.Schedule != nil && f.Schedule.Every == 0
	if atSnapshotTick {
		env["REFX_SNAPSHOT_PERIOD"] = envDuration(s.cfg.SnapshotPeriod)
	}
	if a.Export {
		maps.Copy(env, s.export.environment())
	}
	getenv := func(k string) string { return env[k] }
	var err error
	switch {
	case a.Export:
		_, err = export.LambdaConfigFromEnv(getenv)
	case a.Views:
		_, err = lakeviews.LambdaConfigFromEnv(getenv)
	case f.Queue:
		_, err = sqs.ConfigFromEnv(getenv)
	case atSnapshotTick:
		if _, err = app.ConfigFromEnv(getenv); err == nil {
			_, err = app.SnapshotPeriodFromEnv(getenv)
		}
	default:
		_, err = app.ConfigFromEnv(getenv)
	}
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", f.Name, err)
	}
	out := make(map[string]*string, len(env))
	for k, v := range env {
		out[k] = jsii.String(v)
	}
	return out, nil
}

// envDuration writes d for time.ParseDuration without zero trailing units:
// "168h0m0s" → "168h", "1h30m0s" → "1h30m", "10m0s" → "10m". (Trimming
// "0s" then "0m" as text would turn "10m0s" into "1".)
func envDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
		if t, ok := strings.CutSuffix(s, "h0m"); ok {
			s = t + "h"
		}
	}
	return s
}

// schedule invokes each scheduled function at its rate: its own, or the
// tick of the snapshot cadence (every five minutes with the hourly
// default, for young experiments' snapshots). A failed invocation is
// retried for one interval at most (an hour at most): then the next
// event does its work.
func (s *service) schedule() {
	tick := app.SnapshotCadence(s.cfg.SnapshotPeriod).Tick()
	for _, f := range functions {
		if f.Schedule == nil {
			continue
		}
		every := f.Schedule.Every
		if every == 0 {
			every = tick
		}
		minutes := every.Minutes()
		awsevents.NewRule(s.stack, jsii.String(functionID(f.Name)+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String("refx: invoke " + f.Name + " every " + envDuration(every)),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(minutes))),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.functions[f.Name], &awseventstargets.LambdaFunctionProps{
				RetryAttempts: jsii.Number(2),
				MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(min(minutes, 60))),
			})},
		})
	}
}

func (s *service) outputs() {
	out := func(id, value, description string) {
		awscdk.NewCfnOutput(s.stack, jsii.String(id), &awscdk.CfnOutputProps{
			Value: jsii.String(value), Description: jsii.String(description),
		})
	}
	out("ApiUrl", *s.api.stage.Url(), "The API's base URL")
	out("DashboardUrl", s.dashboardURL(s.dashboardName()), "The CloudWatch dashboard")
	out("AbuseDashboardUrl", s.dashboardURL(s.abuseDashboardName()), "The CloudWatch dashboard of the abuse signals")
	out("TableName", *s.table.TableName(), "The DynamoDB table")
	out("ExportBucketName", *s.export.bucket.BucketName(), "The bucket of the Parquet export and Athena results")
	out("ExportDLQUrl", *s.dlqs["export"].QueueUrl(), "The export's DLQ of batches given up on: ./scripts/replay-export --queue-url <this>")
	out("AdminKeySecretArn", *s.adminKey.SecretArn(),
		"The admin key: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this>")
	out("AthenaWorkGroup", *s.export.workGroup.Name(), "The Athena workgroup of the export")
	out("GlueDatabase", s.export.databaseName, "The Glue database of the export tables")
	out("AlarmTopicArn", *s.monitoringTopic().TopicArn(), "The SNS topic the alarms notify")
}
