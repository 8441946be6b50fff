package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/aggregate"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// tableOperations are the DynamoDB operations refx makes, whose throttles
// and system errors are alarmed on (GetRecords is the stream's).
var tableOperations = []awsdynamodb.Operation{
	awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_BATCH_GET_ITEM, awsdynamodb.Operation_QUERY,
	awsdynamodb.Operation_PUT_ITEM, awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_TRANSACT_WRITE_ITEMS,
	awsdynamodb.Operation_GET_RECORDS,
}

// Alarm thresholds. Lambda errors are invocation failures: the API
// functions answer every request with a response, even an error one, so one
// error is a crash or a timeout. Throttles mean the account's concurrency
// ran out. The stream's iterator age grows when a consumer falls behind;
// records older than 24 hours leave the stream. The export may lag by
// minutes; the counters should be about a second behind the last event
// (the aggregator's batching window), so a minute is already a fault.
const (
	iteratorAgeAlarmMs          = 10 * 60 * 1000
	aggregateIteratorAgeAlarmMs = 60 * 1000
	countedThroughLagAlarm      = 60 // seconds
	api5xxAlarm                 = 5
	// abuseAlarm is the count of requests answered 429 by the functions'
	// rate limits, or refused for their key, in each of 2 of 3 five-minute
	// periods: one a second for ten minutes is someone hammering the
	// public routes (or a client shipped with a revoked key), not a
	// visitor reloading a page.
	abuseAlarm = 300
)

// The API functions' abuse signals (httpapi), Embedded Metric Format lines
// without dimensions.
var abuseMetrics = []string{httpapi.MetricRateLimited, httpapi.MetricKeyRefused, httpapi.MetricCappedValues}

// abuseMetric is one of abuseMetrics.
func abuseMetric(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(httpapi.MetricNamespace), MetricName: jsii.String(name),
	})
}

// The aggregator's own metrics (pkg/aggregate), written as CloudWatch
// Embedded Metric Format log lines after every batch, without dimensions.
const (
	aggregateNamespace         = aggregate.MetricNamespace
	countedThroughLagMetric    = aggregate.MetricLag
	aggregateUndecodableMetric = aggregate.MetricUndecodable
)

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

type alarmSpec struct {
	id, description string
	metric          awscloudwatch.IMetric
	threshold       float64
	periods, points float64
}

// monitoringTopic is the topic every alarm notifies, created once.
func (s *service) monitoringTopic() awssns.Topic {
	if t, ok := s.stack.Node().TryFindChild(jsii.String("AlarmTopic")).(awssns.Topic); ok {
		return t
	}
	t := awssns.NewTopic(s.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("refx " + s.cfg.Stage + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if s.cfg.AlarmEmail != "" {
		t.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.cfg.AlarmEmail), nil))
	}
	return t
}

// newMonitoring defines the alarms and the dashboard.
func (s *service) newMonitoring() {
	topic := s.monitoringTopic()
	action := awscloudwatchactions.NewSnsAction(topic)
	stat := func(m awscloudwatch.Metric, statistic string) awscloudwatch.Metric {
		return m.With(&awscloudwatch.MetricOptions{Statistic: jsii.String(statistic), Period: fiveMinutes})
	}

	var specs []alarmSpec
	for _, f := range functions {
		fn, id := s.functions[f.Name], functionID(f.Name)
		specs = append(specs,
			alarmSpec{id + "Errors", "refx " + f.Name + ": invocations failed (crash or timeout)",
				stat(fn.MetricErrors(nil), "Sum"), 1, 1, 1},
			alarmSpec{id + "Throttles", "refx " + f.Name + ": invocations throttled (concurrency exhausted)",
				stat(fn.MetricThrottles(nil), "Sum"), 1, 1, 1},
			alarmSpec{id + "DurationP99", "refx " + f.Name + ": p99 duration above " + f.P99.String(),
				stat(fn.MetricDuration(nil), "p99"), float64(f.P99.Milliseconds()), 3, 2},
		)
	}
	export, aggregator := s.functions["export"], s.functions["aggregate"]
	aggregateMetric := func(name string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(aggregateNamespace), MetricName: jsii.String(name),
		})
	}
	undecodable, failed := s.exportErrorMetrics()
	specs = append(specs,
		alarmSpec{"ExportUndecodable", "refx export: stream records no row could be decoded from, filed in export_errors; see the function's log",
			undecodable, 1, 1, 1},
		alarmSpec{"ExportFailedRecords", "refx export: stream records not written to S3 (retried, then given up on into the DLQ); see the function's log",
			failed, 1, 1, 1},
		alarmSpec{"ExportIteratorAge", "refx export: the stream export is more than 10 minutes behind",
			stat(export.Metric(jsii.String("IteratorAge"), nil), "Maximum"), iteratorAgeAlarmMs, 3, 2},
		alarmSpec{"ExportDLQDepth", "refx export: stream batches were given up on; see the DLQ",
			stat(s.dlqs["export"].MetricApproximateNumberOfMessagesVisible(nil), "Maximum"), 1, 1, 1},
		alarmSpec{"AggregateIteratorAge", "refx aggregate: the counters' aggregator is more than a minute behind the stream",
			stat(aggregator.Metric(jsii.String("IteratorAge"), nil), "Maximum"), aggregateIteratorAgeAlarmMs, 3, 2},
		alarmSpec{"CountedThroughLag", "refx aggregate: results are counted through more than a minute before now (counted_through lag)",
			stat(aggregateMetric(countedThroughLagMetric), "Maximum"), countedThroughLagAlarm, 3, 2},
		alarmSpec{"AggregateUndecodable", "refx aggregate: stream records no counter could be derived from; see the function's log",
			stat(aggregateMetric(aggregateUndecodableMetric), "Sum"), 1, 1, 1},
		alarmSpec{"AggregateDLQDepth", "refx aggregate: stream records expired before they were counted; see the DLQ",
			stat(s.dlqs["aggregate"].MetricApproximateNumberOfMessagesVisible(nil), "Maximum"), 1, 1, 1},
		alarmSpec{"WebhooksDLQDepth", "refx webhooks: deliveries failed every attempt; see the webhook DLQ and the subscriptions' delivery logs",
			stat(s.dlqs["webhooks"].MetricApproximateNumberOfMessagesVisible(nil), "Maximum"), 1, 1, 1},
		alarmSpec{"TableThrottledRequests", "refx table: requests throttled",
			s.table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
				Operations: &tableOperations, Period: fiveMinutes,
			}), 1, 1, 1},
		alarmSpec{"TableSystemErrors", "refx table: DynamoDB system errors",
			s.table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{
				Operations: &tableOperations, Period: fiveMinutes,
			}), 1, 1, 1},
		alarmSpec{"Api5xx", "refx API: server errors (5xx)",
			stat(s.api.api.MetricServerError(nil), "Sum"), api5xxAlarm, 1, 1},
		alarmSpec{"RateLimited", "refx API: many requests answered 429 by the per-key or per-IP rate limits; see the abuse dashboard",
			stat(abuseMetric(httpapi.MetricRateLimited), "Sum"), abuseAlarm, 3, 2},
		alarmSpec{"KeyRefused", "refx API: many requests refused for a missing, unknown, revoked or misused key; see the abuse dashboard",
			stat(abuseMetric(httpapi.MetricKeyRefused), "Sum"), abuseAlarm, 3, 2},
	)
	var alarms []interfacesawscloudwatch.IAlarmRef
	byID := map[string]interfacesawscloudwatch.IAlarmRef{}
	for _, a := range specs {
		alarm := awscloudwatch.NewAlarm(s.stack, jsii.String(a.id+"Alarm"), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(a.description),
			Metric:             a.metric,
			Threshold:          jsii.Number(a.threshold),
			EvaluationPeriods:  jsii.Number(a.periods),
			DatapointsToAlarm:  jsii.Number(a.points),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
		alarms = append(alarms, alarm)
		byID[a.id] = alarm
	}
	s.newDashboard(alarms)
	abuseAlarms := []interfacesawscloudwatch.IAlarmRef{byID["RateLimited"], byID["KeyRefused"], byID["Api5xx"]}
	for _, f := range functions {
		if f.public() {
			abuseAlarms = append(abuseAlarms, byID[functionID(f.Name)+"Throttles"])
		}
	}
	s.newAbuseDashboard(abuseAlarms)
}

// dashboardName is the dashboard's physical name: readable in the console
// and in the DashboardUrl output.
func (s *service) dashboardName() string {
	return "refx-" + s.cfg.Stage + "-" + *s.stack.Region()
}

// graph is a dashboard graph, a third of a row wide.
func graph(title string, left, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
	return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String(title), Left: &left, Right: &right, Width: jsii.Number(8), Height: jsii.Number(6),
	})
}

// m is metric as a dashboard shows it: statistic over five minutes, labelled.
func m(metric awscloudwatch.Metric, statistic, label string) awscloudwatch.IMetric {
	return metric.With(&awscloudwatch.MetricOptions{Statistic: jsii.String(statistic), Label: jsii.String(label), Period: fiveMinutes})
}

// alarmStatus is a dashboard widget of alarms' states.
func alarmStatus(title string, alarms []interfacesawscloudwatch.IAlarmRef) awscloudwatch.IWidget {
	return awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String(title), Alarms: &alarms, Width: jsii.Number(8), Height: jsii.Number(6),
	})
}

func (s *service) newDashboard(alarms []interfacesawscloudwatch.IAlarmRef) {
	api := s.api.api
	rows := [][]awscloudwatch.IWidget{{
		graph("API requests and errors",
			[]awscloudwatch.IMetric{m(api.MetricCount(nil), "Sum", "requests")},
			[]awscloudwatch.IMetric{m(api.MetricClientError(nil), "Sum", "4xx"), m(api.MetricServerError(nil), "Sum", "5xx")}),
		graph("API latency (ms)",
			[]awscloudwatch.IMetric{m(api.MetricLatency(nil), "p50", "p50"), m(api.MetricLatency(nil), "p99", "p99")}, nil),
		alarmStatus("Alarms", alarms),
	}}
	var invocations, failures, durations []awscloudwatch.IMetric
	for _, f := range functions {
		fn := s.functions[f.Name]
		invocations = append(invocations, m(fn.MetricInvocations(nil), "Sum", f.Name))
		failures = append(failures, m(fn.MetricErrors(nil), "Sum", f.Name+" errors"), m(fn.MetricThrottles(nil), "Sum", f.Name+" throttles"))
		durations = append(durations, m(fn.MetricDuration(nil), "p99", f.Name+" p99"))
	}
	rows = append(rows, []awscloudwatch.IWidget{
		graph("Lambda invocations", invocations, nil),
		graph("Lambda errors and throttles", failures, nil),
		graph("Lambda duration p99 (ms)", durations, nil),
	})
	t := s.table
	rows = append(rows, []awscloudwatch.IWidget{
		graph("DynamoDB capacity consumed",
			[]awscloudwatch.IMetric{m(t.MetricConsumedReadCapacityUnits(nil), "Sum", "RRU"), m(t.MetricConsumedWriteCapacityUnits(nil), "Sum", "WRU")},
			[]awscloudwatch.IMetric{m(t.MetricConditionalCheckFailedRequests(nil), "Sum", "conditional check failed")}),
		// Each ForOperations metric is a math expression over one metric
		// per operation, with ids that would clash in a shared graph.
		graph("DynamoDB throttled requests", []awscloudwatch.IMetric{
			t.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{Operations: &tableOperations, Period: fiveMinutes, Label: jsii.String("throttled")}),
		}, nil),
		graph("DynamoDB system errors", []awscloudwatch.IMetric{
			t.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{Operations: &tableOperations, Period: fiveMinutes, Label: jsii.String("system errors")}),
		}, nil),
	}, []awscloudwatch.IWidget{
		graph("Export: stream lag (ms) and DLQ",
			[]awscloudwatch.IMetric{m(s.functions["export"].Metric(jsii.String("IteratorAge"), nil), "Maximum", "iterator age")},
			[]awscloudwatch.IMetric{m(s.dlqs["export"].MetricApproximateNumberOfMessagesVisible(nil), "Maximum", "DLQ messages")}),
		graph("Counters: aggregator lag",
			[]awscloudwatch.IMetric{
				m(awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(aggregateNamespace), MetricName: jsii.String(countedThroughLagMetric)}),
					"Maximum", "counted_through lag (s)"),
			},
			[]awscloudwatch.IMetric{m(s.functions["aggregate"].Metric(jsii.String("IteratorAge"), nil), "Maximum", "iterator age (ms)")}),
	})
	d := awscloudwatch.NewDashboard(s.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.dashboardName()),
	})
	for _, row := range rows {
		d.AddWidgets(row...)
	}
}

// newAbuseDashboard is the one screen to watch when the public routes are
// attacked: the functions' own refusals (rate limits, keys, capped
// values), what the API answered, and whether the public functions ran out
// of concurrency.
func (s *service) newAbuseDashboard(alarms []interfacesawscloudwatch.IAlarmRef) {
	var signals []awscloudwatch.IMetric
	for _, name := range abuseMetrics {
		signals = append(signals, m(abuseMetric(name), "Sum", name))
	}
	api := s.api.api
	var throttles, concurrency []awscloudwatch.IMetric
	for _, f := range functions {
		if f.public() {
			fn := s.functions[f.Name]
			throttles = append(throttles, m(fn.MetricThrottles(nil), "Sum", f.Name+" throttles"))
			concurrency = append(concurrency, m(fn.Metric(jsii.String("ConcurrentExecutions"), nil), "Maximum", f.Name+" concurrent"))
		}
	}
	// The reserved concurrency, when set, is the ceiling the public
	// functions' concurrency hits before they throttle.
	var ceiling []*awscloudwatch.HorizontalAnnotation
	if n := s.cfg.ReservedConcurrency; n > 0 {
		ceiling = append(ceiling, &awscloudwatch.HorizontalAnnotation{Value: jsii.Number(float64(n)), Label: jsii.String("reservedConcurrency")})
	}
	concurrencyGraph := awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Public functions: throttles and concurrency"), Left: &throttles, Right: &concurrency,
		RightAnnotations: &ceiling, Width: jsii.Number(8), Height: jsii.Number(6),
	})
	d := awscloudwatch.NewDashboard(s.stack, jsii.String("AbuseDashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.abuseDashboardName()),
	})
	d.AddWidgets(
		graph("Refused: rate limited, key refused; values capped", signals, nil),
		// The stage throttle's 429s are among the 4xx: HTTP APIs count
		// no throttles apart.
		graph("API requests, 4xx (stage throttle included), 5xx",
			[]awscloudwatch.IMetric{m(api.MetricCount(nil), "Sum", "requests")},
			[]awscloudwatch.IMetric{m(api.MetricClientError(nil), "Sum", "4xx"), m(api.MetricServerError(nil), "Sum", "5xx")}),
		concurrencyGraph,
	)
	d.AddWidgets(alarmStatus("Abuse alarms", alarms))
}

func (s *service) abuseDashboardName() string {
	return "refx-" + s.cfg.Stage + "-abuse-" + *s.stack.Region()
}

// dashboardURL is the console URL of the dashboard named name.
func (s *service) dashboardURL(name string) string {
	region := *s.stack.Region()
	return "https://" + region + ".console.aws.amazon.com/cloudwatch/home?region=" + region +
		"#dashboards:name=" + name
}
