package httpapi

import (
	"context"
	"encoding/json"
)

// The API's abuse signals, counted in CloudWatch through the Embedded
// Metric Format (one JSON line per signal on the function's output, no API
// call) under MetricNamespace: the stack's abuse dashboard and alarms read
// them.
const (
	MetricNamespace = "refx"
	// MetricRateLimited counts requests answered 429.
	MetricRateLimited = "RateLimited"
	// MetricKeyRefused counts requests refused for a missing, unknown,
	// revoked or misused key.
	MetricKeyRefused = "KeyRefused"
	// MetricCappedValues counts event values lowered to their goal's cap.
	MetricCappedValues = "CappedValues"
)

// metric adds n to the named count.
func (s *Server) metric(ctx context.Context, name string, n int) {
	if s.Metrics == nil || n == 0 {
		return
	}
	line, _ := json.Marshal(map[string]any{
		"_aws": map[string]any{
			"Timestamp": s.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}},
				"Metrics":    []any{map[string]string{"Name": name, "Unit": "Count"}},
			}},
		},
		name:         n,
		"request_id": requestID(ctx),
	})
	s.metricsMu.Lock()
	defer s.metricsMu.Unlock()
	s.Metrics.Write(append(line, '\n'))
}
