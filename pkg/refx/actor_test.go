package refx

import (
	"context"
	"testing"
)

func TestAdminRoleAllows(t *testing.T) {
	tests := []struct {
		have, need AdminRole
		want       bool
	}{
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleEditor, false},
		{RoleEditor, RoleViewer, true},
		{RoleEditor, RoleApprover, false},
		{RoleApprover, RoleEditor, true},
		{RoleApprover, RoleOwner, false},
		{RoleOwner, RoleApprover, true},
		{RoleOwner, RoleOwner, true},
		{"", RoleViewer, false},
		{"admin", RoleViewer, false},
		{RoleOwner, "root", false},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestActorOf(t *testing.T) {
	if got := ActorOf(context.Background()); got != SystemActor {
		t.Errorf("no actor: got %+v, want the system actor", got)
	}
	alice := Actor{ID: "admin:k1", Name: "alice", Role: RoleEditor}
	if got := ActorOf(WithActor(context.Background(), alice)); got != alice {
		t.Errorf("got %+v, want %+v", got, alice)
	}
	if got := ActorOf(WithActor(context.Background(), Actor{})); got != SystemActor {
		t.Errorf("an actor without id: got %+v, want the system actor", got)
	}
}
