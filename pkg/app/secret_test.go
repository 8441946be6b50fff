package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:refx-admin-AbCdEf"

// fakeSecrets is a loopback HTTP server speaking the AWS JSON 1.1 protocol
// of Secrets Manager's GetSecretValue, answering secrets from its map: there
// is no local Secrets Manager to run. Every other call is refused, so a
// DynamoDB request sent here instead of to DynamoDB Local fails the test.
type fakeSecrets struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string
	calls   []string // X-Amz-Target of each request
	authz   []string // Authorization header of each GetSecretValue
}

func newFakeSecrets(t *testing.T, secrets map[string]string) *fakeSecrets {
	f := &fakeSecrets{secrets: secrets}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSecrets) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, target)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "secretsmanager.GetSecretValue":
		f.mu.Lock()
		f.authz = append(f.authz, r.Header.Get("Authorization"))
		f.mu.Unlock()
		var in struct{ SecretId string }
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		value, ok := f.secrets[in.SecretId]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{
				"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret.",
			})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretId, "Name": "refx-admin", "SecretString": value,
			"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	default:
		http.Error(w, "unexpected call "+target, http.StatusBadRequest)
	}
}

func (f *fakeSecrets) callsCopy() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSecrets) count(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == target {
			n++
		}
	}
	return n
}

// isolateAWS points the SDK's Secrets Manager client at endpoint with static
// credentials, and away from any configuration of the machine running the
// test (the SDK reads these from the process environment, not from getenv).
// DynamoDB goes to DynamoDB Local through REFX_DYNAMODB_ENDPOINT; it runs
// with -sharedDb, so these credentials and region see the test's table.
func isolateAWS(t *testing.T, endpoint string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
		"AWS_ACCESS_KEY_ID":                "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
}

// adminRequest is an API Gateway event for an admin route with the bearer
// token key.
func adminRequest(method, path, body, key string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: path, Body: body,
		Headers: map[string]string{"authorization": "Bearer " + key, "content-type": "application/json"},
	}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.RequestID = "SecretTest0001="
	return ev
}

// TestKeysFromSecrets runs the admin function's cold start as deployed:
// no REFX_ADMIN_KEY, only the secret's ARN. The key is read from Secrets
// Manager once, then guards the admin routes, which serve from a fresh
// table on DynamoDB Local.
func TestKeysFromSecrets(t *testing.T) {
	const key = "s3cr3t-admin-key-from-secrets-manager"
	f := newFakeSecrets(t, map[string]string{secretARN: key + "\n", "short": "tooshort"})
	isolateAWS(t, f.URL)
	_, table := dynamotest.NewTable(t)
	env := map[string]string{
		"AWS_REGION":                "eu-west-1",
		"REFX_TABLE":                table,
		"REFX_DYNAMODB_ENDPOINT":    dynamotest.Endpoint(),
		"REFX_ADMIN_KEY_SECRET_ARN": secretARN,
		"REFX_LOG_LEVEL":            "error",
	}
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		h, err := app.LambdaHandler(ctx, envOf(env), httpapi.AdminRoutes)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h(ctx, adminRequest(http.MethodPost, "/v1/experiments",
			`{"id":"secret-test","name":"Secret test","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`, key))
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("create with the secret's key: %d %s, %v", res.StatusCode, res.Body, err)
		}
		for range 3 {
			res, err := h(ctx, adminRequest(http.MethodGet, "/v1/experiments", "", key))
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("with the secret's key: %d %s, %v", res.StatusCode, res.Body, err)
			}
			if !strings.Contains(res.Body, `"secret-test"`) {
				t.Fatalf("the listing misses the experiment just created in %s: %s", table, res.Body)
			}
		}
		res, err = h(ctx, adminRequest(http.MethodGet, "/v1/experiments", "", "not-the-admin-key-at-all"))
		if err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("with another key: %d %s, %v", res.StatusCode, res.Body, err)
		}
		for _, c := range f.callsCopy() {
			if c != "secretsmanager.GetSecretValue" {
				t.Fatalf("%s was sent to the secrets stub: DynamoDB calls go to DynamoDB Local", c)
			}
		}
		if n := f.count("secretsmanager.GetSecretValue"); n != 1 {
			t.Fatalf("GetSecretValue was called %d times, want once, at cold start", n)
		}
		f.mu.Lock()
		authz := f.authz[0]
		f.mu.Unlock()
		if !strings.Contains(authz, "Credential=AKIDTEST/") || !strings.Contains(authz, "/eu-west-1/secretsmanager/aws4_request") {
			t.Fatalf("GetSecretValue was not signed for secretsmanager in eu-west-1: %q", authz)
		}
	})

	t.Run("EnvKeyWins", func(t *testing.T) {
		before := f.count("secretsmanager.GetSecretValue")
		local := map[string]string{"REFX_ADMIN_KEY": "a-local-admin-key-0123"}
		for k, v := range env {
			local[k] = v
		}
		if _, err := app.LambdaHandler(ctx, envOf(local), httpapi.AdminRoutes); err != nil {
			t.Fatal(err)
		}
		if f.count("secretsmanager.GetSecretValue") != before {
			t.Fatal("the secret was read although REFX_ADMIN_KEY is set")
		}
	})

	t.Run("HashKey", func(t *testing.T) {
		const hashARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:refx-hash-GhIjKl"
		const hashKey = "hash-key-from-secrets-manager-0123"
		f.mu.Lock()
		f.secrets[hashARN] = hashKey
		f.mu.Unlock()
		withHash := map[string]string{"REFX_HASH_KEY_SECRET_ARN": hashARN}
		for k, v := range env {
			withHash[k] = v
		}
		cfg, err := app.ConfigFromEnv(envOf(withHash))
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if a.Config.AdminKey != key || string(a.API.HashKey) != hashKey {
			t.Fatalf("admin key %q, hash key %q: want both from their secrets", a.Config.AdminKey, a.API.HashKey)
		}
	})

	for _, tt := range []struct{ name, arn, want string }{
		{"ErrNotFound", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-XyZ123", "ResourceNotFoundException"},
		{"ErrTooShort", "short", "shorter than 16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := map[string]string{}
			for k, v := range env {
				bad[k] = v
			}
			bad["REFX_ADMIN_KEY_SECRET_ARN"] = tt.arn
			_, err := app.LambdaHandler(ctx, envOf(bad), httpapi.AdminRoutes)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.arn) {
				t.Fatalf("cold start = %v, want an error naming %s and %q", err, tt.arn, tt.want)
			}
		})
	}
}

// TestTrackPathsServed checks that a track function configured with extra
// paths answers on them (here with the 400 of an empty body, which stops
// before the store).
func TestTrackPathsServed(t *testing.T) {
	env := map[string]string{
		"REFX_TABLE": "refx-test", "REFX_DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
		"REFX_TRACK_PATHS": "/t/e", "REFX_LOG_LEVEL": "error", "REFX_KEYLESS": "true",
	}
	h, err := app.LambdaHandler(context.Background(), envOf(env), httpapi.TrackRoutes)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/t/e": 400, "/t/e:batch": 400, "/v1/events": 400, "/t/x": 404} {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path}
		ev.RequestContext.HTTP.Method = http.MethodPost
		res, err := h(context.Background(), ev)
		if err != nil || res.StatusCode != want {
			t.Errorf("POST %s = %d %s, %v; want %d", path, res.StatusCode, res.Body, err, want)
		}
	}
}
