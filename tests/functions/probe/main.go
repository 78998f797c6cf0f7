// Command probe is a test function for lambdadev's gateway tests: one binary
// that misbehaves on request (errors, panics, os.Exit, timeouts) and answers
// function-URL events with every response shape the gateway must map back.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

var host, _ = os.Hostname()

// rawEvent is what a direct invocation sends: {"action": "...", ...}.
type rawEvent struct {
	Action  string          `json:"action"`
	Ms      int             `json:"ms"`
	Size    int             `json:"size"`
	N       int             `json:"n"`
	Version string          `json:"version"`
	Env     string          `json:"env"`
	Payload json.RawMessage `json:"payload"`
}

func handler(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev rawEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if ev.Version == "2.0" {
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return web(ctx, req)
	}
	return direct(ctx, ev, raw)
}

func direct(ctx context.Context, ev rawEvent, raw json.RawMessage) (any, error) {
	switch ev.Action {
	case "error":
		return nil, errors.New("probe: asked to fail")
	case "panic":
		panic("probe: asked to panic")
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "big":
		return map[string]string{"data": string(make([]byte, ev.Size))}, nil
	case "env":
		value, ok := os.LookupEnv(ev.Env)
		return map[string]any{"set": ok, "value": value}, nil
	}
	return map[string]any{"host": host, "n": ev.N, "event": raw}, nil
}

func web(ctx context.Context, req events.LambdaFunctionURLRequest) (any, error) {
	switch req.RawPath {
	case "/error":
		return nil, errors.New("probe: asked to fail")
	case "/panic":
		panic("probe: asked to panic")
	case "/nostatus":
		return map[string]any{"hello": "world", "path": req.RawPath}, nil
	case "/binary":
		body := []byte(req.Body)
		if req.IsBase64Encoded {
			decoded, err := base64.StdEncoding.DecodeString(req.Body)
			if err != nil {
				return nil, err
			}
			body = decoded
		}
		for i, j := 0, len(body)-1; i < j; i, j = i+1, j-1 {
			body[i], body[j] = body[j], body[i]
		}
		return events.LambdaFunctionURLResponse{
			StatusCode:      200,
			Headers:         map[string]string{"content-type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString(body),
			IsBase64Encoded: true,
		}, nil
	case "/status":
		code, _ := strconv.Atoi(req.QueryStringParameters["code"])
		return events.LambdaFunctionURLResponse{StatusCode: code, Body: "status " + strconv.Itoa(code)}, nil
	}
	echo, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return events.LambdaFunctionURLResponse{
		StatusCode: 201,
		Headers:    map[string]string{"content-type": "application/json", "x-probe": "yes"},
		Body:       string(echo),
		Cookies:    []string{"a=1; Path=/", "b=2; HttpOnly"},
	}, nil
}

func main() {
	lambda.Start(handler)
}
