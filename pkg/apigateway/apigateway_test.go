package apigateway_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/apigateway"
)

// echo answers with what it received, to check the conversion both ways.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Add("Set-Cookie", "a=1; Path=/")
	w.Header().Add("Set-Cookie", "b=2; Path=/")
	w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" id="+r.Header.Get(apigateway.RequestIDHeader)+
		" cookie="+r.Header.Get("Cookie")+" remote="+r.RemoteAddr+" host="+r.Host)
	if r.URL.Query().Get("binary") != "" {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte{0x47, 0x49, 0x46, 0xff, 0x00})
		return
	}
	w.WriteHeader(http.StatusTeapot)
	w.Write(body)
})

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		event      events.APIGatewayV2HTTPRequest
		status     int
		body       string
		seen       string
		base64Body bool
	}{
		{
			name: "PlainBody",
			event: events.APIGatewayV2HTTPRequest{
				RawPath: "/v1/events:batch", RawQueryString: "x=1", Body: `{"a":1}`,
				Cookies: []string{"refx_vid=abc", "other=1"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID: "req-1", DomainName: "api.example.com",
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", SourceIP: "203.0.113.7"},
				},
			},
			status: http.StatusTeapot, body: `{"a":1}`,
			seen: "POST /v1/events:batch?x=1 id=req-1 cookie=refx_vid=abc; other=1 remote=203.0.113.7:0 host=api.example.com",
		},
		{
			name: "Base64Request",
			event: events.APIGatewayV2HTTPRequest{
				RawPath: "/p", Body: base64.StdEncoding.EncodeToString([]byte("hello")), IsBase64Encoded: true,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PUT"}},
			},
			status: http.StatusTeapot, body: "hello", seen: "PUT /p? id= cookie= remote= host=",
		},
		{
			name: "BinaryResponse",
			event: events.APIGatewayV2HTTPRequest{
				RawPath: "/pixel.gif", RawQueryString: "binary=1",
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
			},
			status: http.StatusOK, body: base64.StdEncoding.EncodeToString([]byte{0x47, 0x49, 0x46, 0xff, 0x00}), base64Body: true,
			seen: "GET /pixel.gif?binary=1 id= cookie= remote= host=",
		},
		{
			name:   "ErrNoMethod",
			event:  events.APIGatewayV2HTTPRequest{RawPath: "/"},
			status: http.StatusBadRequest, body: `{"error":{"code":"invalid_argument","message":"malformed request"}}`,
		},
		{
			name: "ErrBadBase64",
			event: events.APIGatewayV2HTTPRequest{
				RawPath: "/", Body: "%%%", IsBase64Encoded: true,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
			},
			status: http.StatusBadRequest, body: `{"error":{"code":"invalid_argument","message":"malformed request"}}`,
		},
	}
	h := apigateway.Handler(echo)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h(context.Background(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || res.Body != tt.body || res.IsBase64Encoded != tt.base64Body {
				t.Fatalf("response = %d %q base64=%v, want %d %q", res.StatusCode, res.Body, res.IsBase64Encoded, tt.status, tt.body)
			}
			if tt.seen == "" {
				return
			}
			if res.Headers["X-Seen"] != tt.seen {
				t.Fatalf("handler saw %q, want %q", res.Headers["X-Seen"], tt.seen)
			}
			if len(res.Cookies) != 2 || res.Headers["Set-Cookie"] != "" {
				t.Fatalf("Set-Cookie must go to Cookies: %v / %v", res.Cookies, res.Headers)
			}
		})
	}
}
