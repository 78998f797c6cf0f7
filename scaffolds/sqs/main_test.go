package main

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// TestSampleEvents sends each sample batch in events/ through the handler the
// way the Lambda runtime does (JSON in, JSON out) and compares the response.
// `lambdadev invoke events/<file>.json` prints the same JSON.
func TestSampleEvents(t *testing.T) {
	tests := []struct {
		event string // a file in events/
		want  string // the JSON the function returns
	}{
		{"events/batch.json", `{"batchItemFailures":[]}`},
		{"events/batch-with-bad-message.json", `{"batchItemFailures":[{"itemIdentifier":"9c1e5a3f-2d7b-4c8e-a0f6-1b4d7e9a2c5f"},{"itemIdentifier":"d2f6b8a4-3c1e-4a9d-8b7f-5e0c2a4d6f81"}]}`},
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

// TestProcess checks the validation of one message body.
func TestProcess(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"valid order", `{"orderId":"ord-1","item":"tea","quantity":1}`, false},
		{"not JSON", `order 1: tea`, true},
		{"JSON of another shape", `["ord-1","tea",1]`, true},
		{"no orderId", `{"item":"tea","quantity":1}`, true},
		{"zero quantity", `{"orderId":"ord-1","item":"tea","quantity":0}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := process(context.Background(), events.SQSMessage{MessageId: "m-1", Body: tt.body})
			if (err != nil) != tt.wantErr {
				t.Errorf("process() error = %v, want error: %v", err, tt.wantErr)
			}
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
