package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name  string
		event string
	}{
		{name: "sample event", event: "events/hello.json"},
		{name: "empty object", event: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := json.RawMessage(`{}`)
			if tc.event != "" {
				data, err := os.ReadFile(tc.event)
				if err != nil {
					t.Fatal(err)
				}
				payload = data
			}
			got, err := handler(context.Background(), payload)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"statusCode":200,"body":"Hello from Lambda! :)"}`
			if string(out) != want {
				t.Errorf("got %s, want %s", out, want)
			}
		})
	}
}
