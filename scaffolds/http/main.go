// Package main is an HTTP API served by AWS Lambda through a function URL or
// an API Gateway HTTP API, both of which send requests in payload format 2.0.
//
// Routes:
//
//	GET  /               a JSON greeting and the list of routes
//	GET  /hello/{name}   greets {name} (GET /hello?name=... works too)
//	POST /echo           sends a JSON request body back
//
// Every response is JSON. Client mistakes (unknown path, wrong method, bad
// body) are ordinary HTTP responses, not Go errors: a Go error makes Lambda
// answer 502 Bad Gateway, which is for bugs, not for bad requests.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// message is the body of a successful greeting.
type message struct {
	Message string   `json:"message"`
	Routes  []string `json:"routes,omitempty"`
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

// handler routes one request on its path, then checks its method.
func handler(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	method, rawPath := req.RequestContext.HTTP.Method, req.RawPath
	log.Printf("%s %s (request %s)", method, rawPath, req.RequestContext.RequestID)

	// Each path accepts one method and has one function that answers it.
	var allow string
	var answer func(events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse
	switch {
	case rawPath == "/":
		allow, answer = http.MethodGet, home
	case rawPath == "/hello", matches("/hello/*", rawPath):
		allow, answer = http.MethodGet, hello
	case rawPath == "/echo":
		allow, answer = http.MethodPost, echo
	default:
		return jsonResponse(http.StatusNotFound, apiError{"no route for " + rawPath}), nil
	}

	if method != allow {
		resp := jsonResponse(http.StatusMethodNotAllowed, apiError{method + " is not allowed on " + rawPath})
		resp.Headers["allow"] = allow // tells the client which method would work
		return resp, nil
	}
	return answer(req), nil
}

// home answers GET /.
func home(events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	return jsonResponse(http.StatusOK, message{
		Message: "Hello from Lambda!",
		Routes:  []string{"GET /", "GET /hello/{name}", "POST /echo"},
	})
}

// hello answers GET /hello/{name} and GET /hello?name=...
func hello(req events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	// Query string values arrive already decoded.
	name := req.QueryStringParameters["name"]

	// rawPath arrives as the client sent it, so "%20" and friends are still
	// there: decode the segment before using it.
	if segment, ok := strings.CutPrefix(req.RawPath, "/hello/"); ok && segment != "" {
		decoded, err := url.PathUnescape(segment)
		if err != nil {
			return jsonResponse(http.StatusBadRequest, apiError{"bad escape in path: " + segment})
		}
		name = decoded
	}

	if name == "" {
		name = "world"
	}
	return jsonResponse(http.StatusOK, message{Message: "Hello, " + name + "!"})
}

// echo answers POST /echo with {"echo": <the JSON body>}.
func echo(req events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	body := []byte(req.Body)

	// Lambda base64-encodes bodies whose content-type is not text (for
	// example application/octet-stream) and says so in isBase64Encoded.
	if req.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return jsonResponse(http.StatusBadRequest, apiError{"body is not valid base64"})
		}
		body = decoded
	}

	if !json.Valid(body) {
		return jsonResponse(http.StatusBadRequest, apiError{"body is not valid JSON"})
	}
	return jsonResponse(http.StatusOK, struct {
		Echo json.RawMessage `json:"echo"`
	}{body})
}

// jsonResponse builds a response whose body is v encoded as JSON.
func jsonResponse(status int, v any) events.LambdaFunctionURLResponse {
	body, err := json.Marshal(v)
	if err != nil {
		log.Printf("encoding response: %v", err)
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}
}

// matches reports whether p fits pattern, where * stands for one path segment.
func matches(pattern, p string) bool {
	ok, _ := path.Match(pattern, p)
	return ok
}

func main() {
	lambda.Start(handler)
}
