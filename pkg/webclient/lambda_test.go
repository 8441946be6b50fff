package webclient_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/apigateway"
	"github.com/refx-dev/refx/pkg/webclient"
)

// TestBehindAPIGateway serves refx.js through the Lambda adapter: the
// gzipped body must come out base64-encoded (API Gateway decodes it) with
// its Content-Encoding, the plain one as text.
func TestBehindAPIGateway(t *testing.T) {
	h := apigateway.Handler(webclient.Script)
	ev := func(accept string) events.APIGatewayV2HTTPRequest {
		var ev events.APIGatewayV2HTTPRequest
		ev.RawPath, ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "/v1/refx.js", "GET", "/v1/refx.js"
		ev.Headers = map[string]string{"accept-encoding": accept}
		return ev
	}
	res, err := h(context.Background(), ev("gzip, deflate, br"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := base64.StdEncoding.DecodeString(res.Body)
	if res.StatusCode != 200 || !res.IsBase64Encoded || err != nil || !bytes.Equal(body, webclient.Script.Gzip) || res.Headers["Content-Encoding"] != "gzip" {
		t.Fatalf("gzip answer: %d base64=%v encoding=%q (%v)", res.StatusCode, res.IsBase64Encoded, res.Headers["Content-Encoding"], err)
	}
	res, err = h(context.Background(), ev(""))
	if err != nil || res.IsBase64Encoded || res.Body != string(webclient.Script.Body) {
		t.Fatalf("plain answer: base64=%v, %d bytes, %v", res.IsBase64Encoded, len(res.Body), err)
	}
}
