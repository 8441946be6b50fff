package main

import (
	"bytes"
	"debug/elf"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestFunctionTableMatchesFunctions holds the function table to functions/:
// every Lambda main has an entry, and
// each main serves exactly the route groups its entry routes to it.
func TestFunctionTableMatchesFunctions(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	// A Lambda main starts the Lambda runtime, directly or through
	// app.StartLambda; the others (functions/local, functions/query) are
	// commands run on a laptop.
	var dirs []string
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "lambda.Start(") || strings.Contains(string(src), "app.StartLambda(") {
			dirs = append(dirs, filepath.Base(filepath.Dir(m)))
		}
	}
	var names []string
	for _, f := range functions {
		names = append(names, f.Name)
	}
	sort.Strings(dirs)
	sort.Strings(names)
	if !slices.Equal(dirs, names) {
		t.Fatalf("functions/ has %v, infra/functions.go declares %v", dirs, names)
	}
	for _, f := range functions {
		t.Run(f.Name, func(t *testing.T) {
			got, found := mainRoutes(t, filepath.Join(root, "functions", f.Name, "main.go"))
			switch {
			case f.Routes == 0 && found:
				t.Errorf("functions/%s serves routes %b, but the API sends it none", f.Name, got)
			case f.Routes != 0 && got != f.Routes:
				t.Errorf("functions/%s serves route groups %b, the API sends it %b", f.Name, got, f.Routes)
			}
		})
	}
}

// mainGroups are the route groups a function main may pass to
// app.StartLambda, by name.
var mainGroups = map[string]func() httpapi.Group{
	"Assign": httpapi.Assign, "Track": httpapi.Track, "Admin": httpapi.Admin, "Health": httpapi.Health,
}

// mainRoutes reads the route groups of a function main's
// `app.StartLambda(httpapi.X(), httpapi.Y())`.
func mainRoutes(t *testing.T, path string) (httpapi.Routes, bool) {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var call *ast.CallExpr
	ast.Inspect(file, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "StartLambda" {
				call = c
			}
		}
		return call == nil
	})
	if call == nil {
		return 0, false
	}
	var routes httpapi.Routes
	for _, arg := range call.Args {
		c, ok := arg.(*ast.CallExpr)
		var sel *ast.SelectorExpr
		if ok {
			sel, ok = c.Fun.(*ast.SelectorExpr)
		}
		if !ok || mainGroups[sel.Sel.Name] == nil {
			t.Fatalf("%s: cannot read the route group %T passed to app.StartLambda; extend mainRoutes (and mainGroups) for it", path, arg)
		}
		routes |= mainGroups[sel.Sel.Name]().Routes()
	}
	return routes, true
}

// TestFunctions checks each Lambda: the al2023 OS-only runtime on arm64,
// the bootstrap binary, its size, its log group with JSON logs, and its
// configuration.
func TestFunctions(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{{"Dev", devContext}, {"Prod", prodContext}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			lambdas := s.resources("AWS::Lambda::Function")
			if len(lambdas) != len(functions) {
				t.Errorf("%d Lambda functions, want %d: no helper functions (custom resources) either", len(lambdas), len(functions))
			}
			tableID := s.logicalID(t, "AWS::DynamoDB::GlobalTable", "Table")
			adminKey := s.logicalID(t, "AWS::SecretsManager::Secret", "AdminKey")
			hashKey := s.logicalID(t, "AWS::SecretsManager::Secret", "HashKey")
			bucket := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
			level := map[string]string{"Dev": "info", "Prod": "warn"}[tc.name]
			wantEnv := map[string]map[string]any{
				"assign": {"REFX_HASH_KEY_SECRET_ARN": ref(hashKey)},
				"track":  {"REFX_HASH_KEY_SECRET_ARN": ref(hashKey), "REFX_IDEMPOTENCY_TTL": "168h"},
				"admin": {
					"REFX_ADMIN_KEY_SECRET_ARN": ref(adminKey), "REFX_COUNTER_SHARDS": "8",
					"REFX_REQUIRE_APPROVAL": "true",
				},
				"snapshot":  {"REFX_SNAPSHOT_PERIOD": "1h"},
				"export":    {envExportBucket: ref(bucket), envExportPrefix: "export/"},
				"compact":   {envExportBucket: ref(bucket), envExportPrefix: "export/"},
				"aggregate": {},
			}
			// Every API function reads the key mode, the user TTL and the
			// Lamed bounds; the public ones also the rate limits.
			for _, name := range []string{"assign", "track", "admin"} {
				for k, v := range map[string]string{
					"REFX_KEYLESS": "false", "REFX_USER_TTL": "9600h",
					"REFX_LAMED_MAX_EXPERIMENTS": "100", "REFX_LAMED_MAX_VARIANTS": "8", "REFX_LAMED_MAX_GOALS": "16",
				} {
					wantEnv[name][k] = v
				}
			}
			for _, name := range []string{"assign", "track"} {
				wantEnv[name]["REFX_RATE_PER_KEY"] = strconv.Itoa(app.DefaultRatePerKey)
				wantEnv[name]["REFX_RATE_PER_IP"] = strconv.Itoa(app.DefaultRatePerIP)
			}
			if tc.name == "Prod" {
				for _, name := range []string{"assign", "track", "admin"} {
					for k, v := range map[string]string{
						"REFX_KEYLESS": "true", "REFX_USER_TTL": "4800h", "REFX_LAMED_NAMESPACES": "alephbet,shop",
						"REFX_LAMED_MAX_EXPERIMENTS": "200", "REFX_LAMED_MAX_VARIANTS": "4", "REFX_LAMED_MAX_GOALS": "8",
					} {
						wantEnv[name][k] = v
					}
				}
				for _, name := range []string{"assign", "track"} {
					wantEnv[name]["REFX_RATE_PER_KEY"] = "100"
					wantEnv[name]["REFX_RATE_PER_IP"] = "0"
				}
				wantEnv["track"]["REFX_IDEMPOTENCY_TTL"] = "336h"
				wantEnv["track"]["REFX_TRACK_PATHS"] = "/t/e,/collect"
				wantEnv["admin"]["REFX_COUNTER_SHARDS"] = "16"
				wantEnv["snapshot"]["REFX_SNAPSHOT_PERIOD"] = "15m"
				for _, name := range []string{"assign", "track"} {
					wantEnv[name]["REFX_ALLOWED_ORIGINS"] = "https://app.example.com,https://www.example.com"
				}
				for _, name := range []string{"assign", "track", "admin"} {
					wantEnv[name]["REFX_PUBLIC_URL"] = "https://go.example.com"
					wantEnv[name]["REFX_FALLBACK_URL"] = "https://www.example.com/invite"
					wantEnv[name]["REFX_LAMED_PREFIX"] = "/x/ab"
				}
			}
			for _, f := range functions {
				t.Run(f.Name, func(t *testing.T) {
					id := s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function")
					p := props(lambdas[id])
					logs := s.logicalID(t, "AWS::Logs::LogGroup", functionID(f.Name)+"Logs")
					want := map[string]any{
						"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
						"MemorySize": f.Memory, "Timeout": f.Timeout.Seconds(),
						"LoggingConfig": map[string]any{
							"LogFormat": "JSON", "ApplicationLogLevel": strings.ToUpper(level), "SystemLogLevel": "WARN",
							"LogGroup": ref(logs),
						},
						"Role": getAtt(s.logicalID(t, "AWS::IAM::Role", functionID(f.Name)+"Role"), "Arn"),
					}
					for k, v := range want {
						if canonical(p[k]) != canonical(v) {
							t.Errorf("%s = %s, want %s", k, canonical(p[k]), canonical(v))
						}
					}
					env := map[string]any{"REFX_LOG_LEVEL": level}
					if len(f.Access.Table) > 0 {
						env["REFX_TABLE"] = ref(tableID)
					}
					if f.Queue || f.Access.SendWebhooks {
						env["REFX_WEBHOOK_QUEUE_URL"] = ref(s.logicalID(t, "AWS::SQS::Queue", "WebhookQueue"))
					}
					for k, v := range wantEnv[f.Name] {
						env[k] = v
					}
					got := p["Environment"].(map[string]any)["Variables"]
					if canonical(got) != canonical(env) {
						t.Errorf("environment:\n got %s\nwant %s", canonical(got), canonical(env))
					}
					if code := p["Code"].(map[string]any); code["S3Key"] == nil {
						t.Errorf("code is not an asset: %v", code)
					}
				})
			}
			retention := map[string]float64{"Dev": 30, "Prod": 90}[tc.name]
			for id, lg := range s.resources("AWS::Logs::LogGroup") {
				if got := props(lg)["RetentionInDays"]; got != retention {
					t.Errorf("log group %s keeps logs %v days, want %v", id, got, retention)
				}
			}
		})
	}
}

// TestReservedConcurrency checks that reservedConcurrency reserves
// instances for the public functions only: the admin and stream functions
// keep the account's pool.
func TestReservedConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      map[string]any
		reserved any
	}{{"Dev", devContext, nil}, {"Prod", prodContext, 50.0}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			lambdas := s.resources("AWS::Lambda::Function")
			for _, f := range functions {
				want := tc.reserved
				if f.Name != "assign" && f.Name != "track" {
					want = nil
				}
				p := props(lambdas[s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function")])
				if got := p["ReservedConcurrentExecutions"]; got != want {
					t.Errorf("%s: ReservedConcurrentExecutions = %v, want %v", f.Name, got, want)
				}
			}
		})
	}
}

// TestSchedules checks the EventBridge schedules: the snapshot function at
// the snapshot cadence's tick (five minutes for both an hourly and a
// 15-minute period), the rewards function every app.RewardHoldInterval
// whatever the context, each rule invoking its own function only.
func TestSchedules(t *testing.T) {
	want := map[string]string{"snapshot": "rate(5 minutes)", "rewards": "rate(15 minutes)", "compact": "rate(1 hour)"}
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{{"Dev", devContext}, {"Prod", prodContext}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			rules := s.resources("AWS::Events::Rule")
			if len(rules) != len(want) {
				t.Errorf("%d rules, want %d (one per scheduled function)", len(rules), len(want))
			}
			for _, f := range functions {
				if (f.Schedule != nil) != (want[f.Name] != "") {
					t.Errorf("%s: schedule %v, want %q", f.Name, f.Schedule, want[f.Name])
					continue
				}
				if f.Schedule == nil {
					continue
				}
				p := props(rules[s.logicalID(t, "AWS::Events::Rule", functionID(f.Name)+"Schedule")])
				if p["ScheduleExpression"] != want[f.Name] || p["State"] != "ENABLED" {
					t.Errorf("%s: %v %v, want %s, enabled", f.Name, p["ScheduleExpression"], p["State"], want[f.Name])
				}
				targets, _ := p["Targets"].([]any)
				fn := getAtt(s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function"), "Arn")
				if len(targets) != 1 || canonical(targets[0].(map[string]any)["Arn"]) != canonical(fn) {
					t.Errorf("%s: rule targets %s, want only its function", f.Name, canonical(targets))
				}
			}
		})
	}
}

// TestBuild checks the binaries the app builds into the assets: static
// Linux arm64 executables named bootstrap, stripped, built once per process.
func TestBuild(t *testing.T) {
	mustSynth(t, devContext) // builds, or reuses the first synthesis' build
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.Name
	}
	dirs, err := builderFor(root).Build(names...)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string][]byte{}
	for _, name := range names {
		if first[name], err = os.ReadFile(filepath.Join(dirs[name], "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Reproducible", func(t *testing.T) {
		// A second build of unchanged code gives the same bytes, so the
		// same asset hash: cdk deploy leaves unchanged functions alone.
		again, err := buildFunctions(root, names)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			b, err := os.ReadFile(filepath.Join(again[name], "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, first[name]) {
				t.Errorf("%s: two builds of the same code differ", name)
			}
		}
	})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			entries, err := os.ReadDir(dirs[name])
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "bootstrap" {
				t.Fatalf("asset directory %s holds %v, want only bootstrap", dirs[name], entries)
			}
			f, err := elf.Open(filepath.Join(dirs[name], "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
				t.Errorf("machine %v %v, want 64-bit arm64", f.Machine, f.Class)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("dynamically linked (has an interpreter); want static (CGO_ENABLED=0)")
				}
			}
			if syms, _ := f.Symbols(); len(syms) > 0 {
				t.Errorf("%d symbols; want a stripped binary (-s -w)", len(syms))
			}
			if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
				t.Error("has DWARF; want -w")
			}
		})
	}
}
