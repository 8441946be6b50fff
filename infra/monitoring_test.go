package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// alarmKey describes an alarm by what it watches: namespace, metric (or
// "expression" for a math expression), dimension, statistic and threshold.
func alarmKey(p map[string]any) string {
	if p["Metrics"] != nil {
		var names []string
		for _, m := range p["Metrics"].([]any) {
			if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
				metric := stat["Metric"].(map[string]any)
				names = append(names, metric["MetricName"].(string))
			}
		}
		return "expression(" + strings.Join(names, ",") + ")"
	}
	dims := ""
	for _, d := range asAnyList(p["Dimensions"]) {
		if d, ok := d.(map[string]any); ok {
			dims += d["Name"].(string) + " "
		}
	}
	stat, _ := p["Statistic"].(string)
	if stat == "" {
		stat, _ = p["ExtendedStatistic"].(string)
	}
	return p["Namespace"].(string) + "/" + p["MetricName"].(string) + " " + strings.TrimSpace(dims) + " " + stat
}

func TestAlarms(t *testing.T) {
	s := mustSynth(t, devContext)
	topic := s.logicalID(t, "AWS::SNS::Topic", "AlarmTopic")
	alarms := map[string]map[string]any{}
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		for _, actions := range []string{"AlarmActions", "OKActions"} {
			if canonical(p[actions]) != canonical([]any{ref(topic)}) {
				t.Errorf("alarm %s: %s = %s, want the alarm topic", id, actions, canonical(p[actions]))
			}
		}
		if p["TreatMissingData"] != "notBreaching" || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("alarm %s: %v %v", id, p["TreatMissingData"], p["ComparisonOperator"])
		}
		alarms[id] = p
	}
	want := map[string]struct {
		key       string
		threshold float64
	}{
		"ExportIteratorAgeAlarm":    {"AWS/Lambda/IteratorAge FunctionName Maximum", 600000},
		"ExportDLQDepthAlarm":       {"AWS/SQS/ApproximateNumberOfMessagesVisible QueueName Maximum", 1},
		"AggregateIteratorAgeAlarm": {"AWS/Lambda/IteratorAge FunctionName Maximum", 60000},
		"AggregateDLQDepthAlarm":    {"AWS/SQS/ApproximateNumberOfMessagesVisible QueueName Maximum", 1},
		"WebhooksDLQDepthAlarm":     {"AWS/SQS/ApproximateNumberOfMessagesVisible QueueName Maximum", 1},
		// The aggregator's Embedded Metric Format lines (pkg/aggregate),
		// which carry no dimensions.
		"CountedThroughLagAlarm":    {"refx/CountedThroughLagSeconds  Maximum", 60},
		"AggregateUndecodableAlarm": {"refx/AggregateUndecodableRecords  Sum", 1},
		// The export's batch log lines, through metric filters (lake.go).
		"ExportUndecodableAlarm":      {"refx/ExportUndecodableRecords  Sum", 1},
		"ExportFailedRecordsAlarm":    {"refx/ExportFailedRecords  Sum", 1},
		"TableThrottledRequestsAlarm": {"expression(ThrottledRequests,ThrottledRequests,ThrottledRequests,ThrottledRequests,ThrottledRequests,ThrottledRequests,ThrottledRequests)", 1},
		"TableSystemErrorsAlarm":      {"expression(SystemErrors,SystemErrors,SystemErrors,SystemErrors,SystemErrors,SystemErrors,SystemErrors)", 1},
		"Api5xxAlarm":                 {"AWS/ApiGateway/5xx ApiId Sum", 5},
		// The API functions' abuse signals (httpapi), also dimensionless.
		"RateLimitedAlarm": {"refx/RateLimited  Sum", 300},
		"KeyRefusedAlarm":  {"refx/KeyRefused  Sum", 300},
	}
	for _, f := range functions {
		id := functionID(f.Name)
		want[id+"ErrorsAlarm"] = struct {
			key       string
			threshold float64
		}{"AWS/Lambda/Errors FunctionName Sum", 1}
		want[id+"ThrottlesAlarm"] = struct {
			key       string
			threshold float64
		}{"AWS/Lambda/Throttles FunctionName Sum", 1}
		want[id+"DurationP99Alarm"] = struct {
			key       string
			threshold float64
		}{"AWS/Lambda/Duration FunctionName p99", float64(f.P99.Milliseconds())}
	}
	if len(alarms) != len(want) {
		t.Errorf("%d alarms, want %d", len(alarms), len(want))
	}
	for name, w := range want {
		id := s.logicalID(t, "AWS::CloudWatch::Alarm", name)
		p := alarms[id]
		if got := alarmKey(p); got != w.key || p["Threshold"] != w.threshold {
			t.Errorf("%s watches %q ≥ %v, want %q ≥ %v", name, got, p["Threshold"], w.key, w.threshold)
		}
	}
	// The stream alarms watch their own function and queue.
	for alarm, want := range map[string]any{
		"ExportIteratorAgeAlarm":    []any{map[string]any{"Name": "FunctionName", "Value": ref(s.logicalID(t, "AWS::Lambda::Function", "ExportFunction"))}},
		"AggregateIteratorAgeAlarm": []any{map[string]any{"Name": "FunctionName", "Value": ref(s.logicalID(t, "AWS::Lambda::Function", "AggregateFunction"))}},
		"ExportDLQDepthAlarm":       []any{map[string]any{"Name": "QueueName", "Value": getAtt(s.logicalID(t, "AWS::SQS::Queue", "ExportDLQ"), "QueueName")}},
		"AggregateDLQDepthAlarm":    []any{map[string]any{"Name": "QueueName", "Value": getAtt(s.logicalID(t, "AWS::SQS::Queue", "AggregateDLQ"), "QueueName")}},
	} {
		if got := alarms[s.logicalID(t, "AWS::CloudWatch::Alarm", alarm)]["Dimensions"]; canonical(got) != canonical(want) {
			t.Errorf("%s watches %s, want %s", alarm, canonical(got), canonical(want))
		}
	}
	check(t, "counted_through lag alarm", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"Namespace": "refx", "MetricName": "CountedThroughLagSeconds", "Statistic": "Maximum", "Period": 300,
			"Threshold": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
			"Dimensions": assertions.Match_Absent(),
		})
	})
	// Each function's alarms watch that function.
	for _, f := range functions {
		fn := ref(s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function"))
		for _, kind := range []string{"Errors", "Throttles", "DurationP99"} {
			p := alarms[s.logicalID(t, "AWS::CloudWatch::Alarm", functionID(f.Name)+kind+"Alarm")]
			if d := canonical(p["Dimensions"]); d != canonical([]any{map[string]any{"Name": "FunctionName", "Value": fn}}) {
				t.Errorf("%s %s alarm watches %s", f.Name, kind, d)
			}
		}
	}
}

func TestAlarmEmail(t *testing.T) {
	if n := len(mustSynth(t, devContext).resources("AWS::SNS::Subscription")); n != 0 {
		t.Errorf("%d subscriptions without an alarm e-mail", n)
	}
	s := mustSynth(t, prodContext)
	topic := s.logicalID(t, "AWS::SNS::Topic", "AlarmTopic")
	check(t, "e-mail subscription", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
			"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": ref(topic),
		})
	})
}

func TestDashboard(t *testing.T) {
	s := mustSynth(t, devContext)
	dashboards := s.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 2 {
		t.Fatalf("%d dashboards, want the service's and the abuse dashboard", len(dashboards))
	}
	{
		d := dashboards[s.logicalID(t, "AWS::CloudWatch::Dashboard", "Dashboard")]
		body := canonical(props(d)["DashboardBody"])
		for _, want := range []string{"API requests and errors", "Lambda invocations", "Lambda duration p99", "DynamoDB capacity consumed",
			"DynamoDB throttled requests", "DynamoDB system errors", "IteratorAge", "ApproximateNumberOfMessagesVisible", "alarm"} {
			if !strings.Contains(body, want) {
				t.Errorf("the dashboard has no %q", want)
			}
		}
		if !strings.Contains(canonical(props(d)["DashboardName"]), "refx-dev-") {
			t.Errorf("dashboard name %s", canonical(props(d)["DashboardName"]))
		}
	}
}

// TestAbuseDashboard checks the dashboard of the abuse signals: the API
// functions' own metrics, the API's responses, the public functions'
// throttles and concurrency (with the reserved ceiling when set), and the
// alarms that page on them.
func TestAbuseDashboard(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		ceiling bool
	}{{"Dev", devContext, false}, {"Prod", prodContext, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			id := s.logicalID(t, "AWS::CloudWatch::Dashboard", "AbuseDashboard")
			d := props(s.resources("AWS::CloudWatch::Dashboard")[id])
			if name := canonical(d["DashboardName"]); !strings.Contains(name, "refx-"+s.cfg.Stage+"-abuse-") {
				t.Errorf("dashboard name %s", name)
			}
			body := canonical(d["DashboardBody"])
			api := s.logicalID(t, "AWS::ApiGatewayV2::Api", "Api")
			wants := []string{
				// The Embedded Metric Format lines: namespace, name, no dimension.
				`\"refx\",\"RateLimited\",{`, `\"refx\",\"KeyRefused\",{`, `\"refx\",\"CappedValues\",{`,
				`\"AWS/ApiGateway\",\"Count\",\"ApiId\",\"`, `\"AWS/ApiGateway\",\"4xx\",\"ApiId\",\"`,
				`\"AWS/ApiGateway\",\"5xx\",\"ApiId\",\"`, canonical(ref(api)),
				`\"Throttles\",\"FunctionName\"`, `\"ConcurrentExecutions\",\"FunctionName\"`,
			}
			for _, name := range []string{"RateLimitedAlarm", "KeyRefusedAlarm", "Api5xxAlarm", "AssignThrottlesAlarm", "TrackThrottlesAlarm"} {
				wants = append(wants, canonical(getAtt(s.logicalID(t, "AWS::CloudWatch::Alarm", name), "Arn")))
			}
			for _, f := range []string{"assign", "track"} {
				wants = append(wants, canonical(ref(s.logicalID(t, "AWS::Lambda::Function", functionID(f)+"Function"))))
			}
			for _, want := range wants {
				if !strings.Contains(body, want) {
					t.Errorf("the abuse dashboard has no %s", want)
				}
			}
			// Only the public functions: admin's throttles belong to the
			// service dashboard.
			if admin := canonical(ref(s.logicalID(t, "AWS::Lambda::Function", "AdminFunction"))); strings.Contains(body, admin) {
				t.Errorf("the abuse dashboard shows the admin function")
			}
			ceiling := `{\"label\":\"reservedConcurrency\",\"value\":50,\"yAxis\":\"right\"}`
			if got := strings.Contains(body, ceiling); got != tc.ceiling {
				t.Errorf("reserved concurrency line %s: %v, want %v in %s", ceiling, got, tc.ceiling, body)
			}
		})
	}
}
