package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// TestSampleEvents sends each sample event in events/ through the handler the
// way the Lambda runtime does (JSON in, JSON out) and compares the whole
// response. `lambdadev invoke events/<file>.json` prints the same JSON.
func TestSampleEvents(t *testing.T) {
	tests := []struct {
		event string // a file in events/
		want  string // the JSON the function returns
	}{
		{"events/root.json", `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"message\":\"Hello from Lambda!\",\"routes\":[\"GET /\",\"GET /hello/{name}\",\"POST /echo\"]}","isBase64Encoded":false,"cookies":null}`},
		{"events/hello.json", `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"message\":\"Hello, Gopher!\"}","isBase64Encoded":false,"cookies":null}`},
		{"events/hello-query.json", `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"message\":\"Hello, Lambda fan!\"}","isBase64Encoded":false,"cookies":null}`},
		{"events/echo.json", `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"echo\":{\"message\":\"ping\",\"count\":3,\"tags\":[\"go\",\"lambda\"]}}","isBase64Encoded":false,"cookies":null}`},
		{"events/echo-base64.json", `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"echo\":{\"sensor\":\"t-101\",\"celsius\":21.5}}","isBase64Encoded":false,"cookies":null}`},
		{"events/echo-invalid.json", `{"statusCode":400,"headers":{"content-type":"application/json"},"body":"{\"error\":\"body is not valid JSON\"}","isBase64Encoded":false,"cookies":null}`},
		{"events/not-found.json", `{"statusCode":404,"headers":{"content-type":"application/json"},"body":"{\"error\":\"no route for /nope\"}","isBase64Encoded":false,"cookies":null}`},
		{"events/method-not-allowed.json", `{"statusCode":405,"headers":{"allow":"GET","content-type":"application/json"},"body":"{\"error\":\"DELETE is not allowed on /hello/Gopher\"}","isBase64Encoded":false,"cookies":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			payload, err := os.ReadFile(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			assertJSONEqual(t, got, tt.want)
		})
	}
}

// TestRouting calls the handler directly with requests built in Go, for the
// corner cases that have no sample event.
func TestRouting(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		base64     bool
		wantStatus int
		wantBody   string
	}{
		{"escaped name", "GET", "/hello/J%C3%BCrgen", "", false, http.StatusOK, `{"message":"Hello, Jürgen!"}`},
		{"no name", "GET", "/hello", "", false, http.StatusOK, `{"message":"Hello, world!"}`},
		{"nested path", "GET", "/hello/a/b", "", false, http.StatusNotFound, `{"error":"no route for /hello/a/b"}`},
		{"bad base64", "POST", "/echo", "not base64!", true, http.StatusBadRequest, `{"error":"body is not valid base64"}`},
		{"empty body", "POST", "/echo", "", false, http.StatusBadRequest, `{"error":"body is not valid JSON"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req events.LambdaFunctionURLRequest
			req.RequestContext.HTTP.Method = tt.method
			req.RawPath = tt.path
			req.Body = tt.body
			req.IsBase64Encoded = tt.base64

			resp, err := handler(context.Background(), req)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Headers["content-type"]; ct != "application/json" {
				t.Errorf("content-type = %q, want application/json", ct)
			}
			assertJSONEqual(t, []byte(resp.Body), tt.wantBody)
		})
	}
}

// assertJSONEqual fails the test unless got and want hold the same JSON value
// (key order and spacing do not matter).
func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("expected value is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
