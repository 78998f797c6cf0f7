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

// TestSampleEvents sends each sample event in events/ through the handler the
// way the Lambda runtime does (JSON in, JSON out) and compares the response.
// `lambdadev invoke events/<file>.json` prints the same JSON.
func TestSampleEvents(t *testing.T) {
	tests := []struct {
		event string // a file in events/
		want  string // the JSON the function returns
	}{
		{"events/object-created.json", `{"objects":[{"bucket":"amzn-s3-demo-bucket","key":"uploads/2025/Quarterly Report (final).pdf","size":482133}],"totalBytes":482133}`},
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

// TestRecords calls the handler directly with records built in Go.
func TestRecords(t *testing.T) {
	record := func(eventName, key string, size int64) events.S3EventRecord {
		var r events.S3EventRecord
		r.EventName = eventName
		r.S3.Bucket.Name = "my-bucket"
		r.S3.Object.Key = key
		r.S3.Object.Size = size
		return r
	}
	tests := []struct {
		name    string
		records []events.S3EventRecord
		want    Summary
		wantErr bool
	}{
		{
			name:    "decodes keys",
			records: []events.S3EventRecord{record("ObjectCreated:Put", "a+b%2Bc%C3%A9.txt", 3)},
			want:    Summary{Objects: []Object{{"my-bucket", "a b+cé.txt", 3}}, TotalBytes: 3},
		},
		{
			name: "skips other events",
			records: []events.S3EventRecord{
				record("ObjectRemoved:Delete", "old.txt", 0),
				record("ObjectCreated:CompleteMultipartUpload", "big.bin", 100),
			},
			want: Summary{Objects: []Object{{"my-bucket", "big.bin", 100}}, TotalBytes: 100},
		},
		{
			name:    "no records",
			records: nil,
			want:    Summary{Objects: []Object{}},
		},
		{
			name:    "bad escape in key",
			records: []events.S3EventRecord{record("ObjectCreated:Put", "100%.txt", 1)},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handler(context.Background(), events.S3Event{Records: tt.records})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
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
