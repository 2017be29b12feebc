package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

func TestLabelsAreSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"ChatSend": "chat_send", "ChatInvalidUtf8": "chat_invalid_utf8", "Hello": "hello", "MovementBatch": "movement_batch"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CloseReason(common.CloseCodeSlowConsumer); got != "slow_consumer" {
		t.Errorf("CloseReason(4004) = %q", got)
	}
}

func TestOnlyPossibleSeriesExist(t *testing.T) {
	m := New()
	// One series per client kind plus invalid, in; one per relay kind, out.
	if n := testutil.CollectAndCount(m.MessagesIn); n != len(clientKinds)+1 {
		t.Errorf("messages_in series %d, want %d", n, len(clientKinds)+1)
	}
	if n := testutil.CollectAndCount(m.MessagesOut); n != int(lastKnownMessage)-len(clientKinds) {
		t.Errorf("messages_out series %d, want %d", n, int(lastKnownMessage)-len(clientKinds))
	}
	if n := testutil.CollectAndCount(m.Closes); n != len(common.EnumNamesCloseCode)-1 {
		t.Errorf("closes series %d", n)
	}
	if n := testutil.CollectAndCount(m.Commands); n != 2*len(CommandKinds) {
		t.Errorf("commands series %d, want %d (every kind, ok and error)", n, 2*len(CommandKinds))
	}
	m.In(protocol.MessageWelcome, 10) // a relay kind sent by a client counts as invalid
	if v := testutil.ToFloat64(m.MessagesIn.WithLabelValues("invalid")); v != 1 {
		t.Errorf("invalid in = %v", v)
	}
	m.Out(protocol.MessageHello, 10) // impossible: counted nowhere
	if n := testutil.CollectAndCount(m.MessagesOut); n != int(lastKnownMessage)-len(clientKinds) {
		t.Errorf("Out(Hello) created a series")
	}
	m.SetBuild("1.2.3+abc")
	if v := testutil.ToFloat64(m.BuildInfo.WithLabelValues("1.2.3", "abc")); v != 1 {
		t.Errorf("build_info = %v", v)
	}
}

func BenchmarkInOut(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.In(protocol.MessageMove, 40)
		m.Out(protocol.MessageMovementBatch, 400)
	}
}
