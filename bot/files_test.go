package bot

import (
	"slices"
	"strings"
	"testing"
)

func TestUsersFromFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       []string
		err        string
	}{
		{"Lines", "a@x.com\n\n# leavers\nb@x.com\r\n", []string{"a@x.com", "b@x.com"}, ""},
		{"CSVHeader", "displayName,userPrincipalName,department\nAda,ada@x.com,IT\n\"Lee, Bo\",bo@x.com,Sales\n", []string{"ada@x.com", "bo@x.com"}, ""},
		{"ExcelSemicolonBOM", "\ufeffUPN;Name\nada@x.com;Ada\n", []string{"ada@x.com"}, ""},
		{"FirstColumn", "ada@x.com,left\nbo@x.com,left\n", []string{"ada@x.com", "bo@x.com"}, ""},
		{"BareNames", "alice\nbob\n", []string{"alice", "bob"}, ""},
		{"Empty", "# nobody\n\n", nil, "lists no users"},
		{"BrokenQuote", "\"ada@x.com\n", nil, "not a readable list"},
		{"TooBig", strings.Repeat("a@x.com\n", MaxFileSize/8+1), nil, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := usersFromFiles([]File{{Name: "users.csv", Data: []byte(tt.data)}})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("usersFromFiles(%q) error = %v, want %q", tt.name, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("usersFromFiles(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		})
	}
}
