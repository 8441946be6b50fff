package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLamedCompatibility(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	track := func(variant, event, uuid string) *http.Response {
		t.Helper()
		q := url.Values{"namespace": {"demo"}, "experiment": {"button color"}, "variant": {variant}, "event": {event}, "uuid": {uuid}}
		res, err := http.Get(a.URL + "/lamed/track?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, call := range [][3]string{
		{"red", "participate", "v1"}, {"red", "participate", "v1"}, {"blue", "participate", "v2"},
		{"red", "button clicked", "v1"}, {"red", "button clicked", "v1"}, {"blue", "page view", "r1"}, {"blue", "page view", "r2"},
	} {
		res := track(call[0], call[1], call[2])
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("track %v: %d %v", call, res.StatusCode, res.Header)
		}
	}
	if res := track("", "participate", "v3"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("track without variant: %d", res.StatusCode)
	}

	get := func(method, path, key string) (int, string) {
		req, _ := http.NewRequest(method, a.URL+path, nil)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	if status, _ := get("GET", "/lamed/experiments?namespace=demo", "wrong"); status != http.StatusForbidden {
		t.Fatalf("wrong key: %d", status)
	}
	status, body := get("GET", "/lamed/experiments?namespace=demo", adminKey)
	want := `[{"meta":{"scope":null}},{"experiment":"button color","goals":[` +
		`{"goal":"button clicked","results":[{"label":"blue","successes":0,"trials":1},{"label":"red","successes":1,"trials":1}]},` +
		`{"goal":"page view","results":[{"label":"blue","successes":2,"trials":1},{"label":"red","successes":0,"trials":1}]}]}]`
	if status != http.StatusOK || body != want {
		t.Fatalf("experiments = %d %s\nwant %s", status, body, want)
	}
	// The experiment is in refx's own listing and results too.
	list := a.mustDo("GET", "/v1/experiments", "", true, http.StatusOK)
	if !strings.Contains(list.Raw, `"source":"lamed"`) || !strings.Contains(list.Raw, `"name":"button color"`) {
		t.Fatalf("refx listing = %s", list.Raw)
	}
	if status, _ := get("DELETE", "/lamed/delete?namespace=demo&experiment=button+color", "wrong"); status != http.StatusForbidden {
		t.Fatalf("delete with wrong key: %d", status)
	}
	if status, _ := get("DELETE", "/lamed/delete?namespace=demo&experiment=button+color", adminKey); status != http.StatusOK {
		t.Fatalf("delete: %d", status)
	}
	if status, body := get("GET", "/lamed/experiments?namespace=demo", adminKey); body != `[{"meta":{"scope":null}}]` {
		t.Fatalf("after delete: %d %s", status, body)
	}
}
