package main

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

// TestSampleEvents sends each sample event in events/ through the handler the
// way the Lambda runtime does (JSON in, JSON out) and compares the response.
// `lambdadev invoke events/<file>.json` prints the same JSON.
func TestSampleEvents(t *testing.T) {
	tests := []struct {
		event   string // a file in events/
		want    string // the JSON the function returns...
		wantErr string // ...or part of the error it returns
	}{
		{event: "events/scheduled.json", want: `{"eventId":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","ruleArn":"arn:aws:events:us-east-1:123456789012:rule/nightly-report","scheduledTime":"2025-03-03T02:00:00Z"}`},
		{event: "events/not-scheduled.json", wantErr: `unexpected detail-type "EC2 Instance State-change Notification"`},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			payload, err := os.ReadFile(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			assertJSONEqual(t, got, tt.want)
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
