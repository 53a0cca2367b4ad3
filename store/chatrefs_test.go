package store_test

import (
	"context"
	"testing"
)

func TestDB_ChatRefs(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	ctx := context.Background()
	if got, err := db.ChatRefs(ctx, "teams:"); err != nil || len(got) != 0 {
		t.Fatalf("ChatRefs on a new store = %v, %v; want none", got, err)
	}
	for k, v := range map[string]string{"teams:user:a": "1", "teams:user:b": "2", "teams:conv:c": "3", "other:x": "4"} {
		if err := db.PutChatRef(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutChatRef(ctx, "teams:user:a", []byte("1b")); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteChatRef(ctx, "teams:user:b"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteChatRef(ctx, "teams:user:none"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	MustReopen(t, db)
	got, err := db.ChatRefs(ctx, "teams:user:")
	if err != nil || len(got) != 1 || string(got["teams:user:a"]) != "1b" {
		t.Errorf("ChatRefs(teams:user:) = %q, %v; want only a=1b", got, err)
	}
	if err := db.PutChatRef(ctx, "", nil); err == nil {
		t.Error("empty key accepted")
	}
}
