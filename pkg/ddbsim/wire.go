package ddbsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// targetPrefix starts the X-Amz-Target header of every DynamoDB request.
const targetPrefix = "DynamoDB_20120810."

// errorPrefix starts the __type of every DynamoDB error body.
const errorPrefix = "com.amazonaws.dynamodb.v20120810#"

// reply is an HTTP response, from the upstream or made by the proxy.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorCode returns the DynamoDB error code of r ("" for a success).
func (r reply) errorCode() string {
	if r.status == http.StatusOK {
		return ""
	}
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Type == "" {
		return "HTTP " + strconv.Itoa(r.status)
	}
	return e.Type[strings.LastIndex(e.Type, "#")+1:]
}

func (r reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// awsError is a DynamoDB error response as real DynamoDB sends it: HTTP
// 400, the code in __type and an X-Amz-Crc32 of the body, which the SDK
// checks against real DynamoDB.
func awsError(code, message string, extra map[string]any) reply {
	body := map[string]any{"__type": errorPrefix + code}
	if extra != nil {
		// TransactionCanceledException spells it "Message".
		body["Message"] = message
	} else {
		body["message"] = message
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body) // maps of strings and reasons always marshal
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	return reply{status: http.StatusBadRequest, header: h, body: b}
}

// cancellationReason is one entry of a TransactionCanceledException's
// CancellationReasons, in the order of the request's items.
type cancellationReason struct {
	Code    string
	Message string `json:",omitempty"`
}

const conflictMessage = "Transaction is ongoing for the item"

// cancelled is the TransactionCanceledException real DynamoDB answers when
// items of a transaction are part of another ongoing transaction.
func cancelled(reasons []cancellationReason) reply {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	msg := "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"
	return awsError("TransactionCanceledException", msg, map[string]any{"CancellationReasons": reasons})
}

// call sends one request to the upstream with the caller's headers (DynamoDB
// Local keeps a database per access key and region unless -sharedDb, and
// does not check signatures, so the client's Authorization header is reused
// for the proxy's own reads).
func (p *Proxy) call(ctx context.Context, hdr http.Header, op string, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.upstream+"/", bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		switch k {
		case "Content-Length", "Accept-Encoding", "Connection", "Expect", "Amz-Sdk-Request", "Amz-Sdk-Invocation-Id":
			continue
		}
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := p.http.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s upstream: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s upstream: %w", op, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// callOK is call for the proxy's own requests, which must succeed.
func (p *Proxy) callOK(ctx context.Context, hdr http.Header, op string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	r, err := p.call(ctx, hdr, op, b)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", op, r.errorCode(), r.body)
	}
	return json.Unmarshal(r.body, out)
}

func readAll(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}
