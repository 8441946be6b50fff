package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// BenchmarkOFREPBulk50 is a client-side provider's request: one bulk
// evaluation of 50 flags of three rules each (a force rule on a condition,
// a rollout, a GrowthBook experiment), over loopback HTTP against a server
// on DynamoDB Local, with the payload in the instance's cache as it is
// between two reads. It reports the latency's median and 99th percentile.
func BenchmarkOFREPBulk50(b *testing.B) {
	a := MustAPIWith(b, func(s *httpapi.Server) { s.Flags = s.Experiments.(refx.FlagService) })
	for i := range 50 {
		a.mustDo("POST", "/v1/flags", fmt.Sprintf(`{"key":"flag-%02d","kind":"release","value_type":"string","default_value":"off",
		  "environments":{"production":{"enabled":true,"rules":[
		    {"id":"staff","force":"on","condition":{"email":{"$regex":"@shop\\.example$"},"country":{"$in":["FR","DE","CA"]}}},
		    {"id":"rollout","force":"on","coverage":0.25,"condition":{"plan":{"$ne":"free"}}},
		    {"variations":["a","b","c"],"weights":[0.5,0.25,0.25],"key":"test-%02d"}]}}}`, i, i), true, http.StatusCreated)
	}
	secret := a.mustKey("secret")
	body := `{"context":{"targetingKey":"user-4711","email":"ann@mail.example","country":"FR","plan":"pro","version":"2.3.1"}}`
	send := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequest("POST", a.URL+"/ofrep/v1/evaluate/flags", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpapi.KeyHeader, secret)
		res, err := a.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || strings.Count(string(raw), `"key"`) != 50 {
			b.Fatalf("bulk = %d %s (%v)", res.StatusCode, raw, err)
		}
		return time.Since(start)
	}
	send() // the payload read, and the key's
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		latencies = append(latencies, send())
	}
	b.StopTimer()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
