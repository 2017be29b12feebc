// Command echopeer is the Go side of the cross-language socket test
// (tests/test_crosslang_socket.py). It listens on 127.0.0.1, prints the port,
// and answers each client frame with the relay-side message a relay would
// derive from it, built with the generated Go code. Frames on the socket are
// a 4-byte little-endian length followed by one FlatBuffers Envelope.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

const maxFrame = 1 << 20

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		log.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := serve(conn); err != nil {
		log.Fatal(err)
	}
}

func serve(conn net.Conn) error {
	r := bufio.NewReader(conn)
	for {
		var size uint32
		if err := binary.Read(r, binary.LittleEndian, &size); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read length: %w", err)
		}
		if size > maxFrame {
			return fmt.Errorf("frame of %d bytes", size)
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		reply := answer(frame)
		if err := binary.Write(conn, binary.LittleEndian, uint32(len(reply))); err != nil {
			return err
		}
		if _, err := conn.Write(reply); err != nil {
			return err
		}
	}
}

func answer(frame []byte) []byte {
	if len(frame) < 8 || !protocol.EnvelopeBufferHasIdentifier(frame) {
		return envelope(&protocol.MessageT{Type: protocol.MessageError, Value: &protocol.ErrorT{
			Code: common.ErrorCodeMalformedFrame, Message: "missing PLZP identifier"}})
	}
	in := protocol.GetRootAsEnvelope(frame, 0).UnPack()
	if in.Message == nil {
		return envelope(&protocol.MessageT{Type: protocol.MessageError, Value: &protocol.ErrorT{
			Code: common.ErrorCodeUnknownMessage, Message: "empty envelope"}})
	}
	now := time.Now().UnixMilli()
	switch m := in.Message.Value.(type) {
	case *protocol.HelloT:
		return envelope(&protocol.MessageT{Type: protocol.MessageWelcome, Value: &protocol.WelcomeT{
			SessionId:       "echo:" + m.Ticket,
			MemberId:        uint32(len(m.ClientVersion)),
			ProtocolVersion: m.ProtocolVersion,
			ServerTimeMs:    now,
			TickRateHz:      20,
			Snapshot:        &protocol.RoomSnapshotT{RoomId: "r_echo", Sequence: 1},
		}})
	case *protocol.MoveT:
		return envelope(&protocol.MessageT{Type: protocol.MessageMovementBatch, Value: &protocol.MovementBatchT{
			Tick:         1,
			ServerTimeMs: now,
			Avatars: []*protocol.AvatarTransformT{{
				MemberId: 1, ClientTimeMsLow: uint32(m.ClientTimeMs), Transform: m.Transform,
			}},
		}})
	case *protocol.ChatSendT:
		return envelope(&protocol.MessageT{Type: protocol.MessageChatMessage, Value: &protocol.ChatMessageT{
			Sequence: uint64(m.RequestId) + 1, MemberId: 1, UserId: "u_echo", DisplayName: "Écho",
			Text: m.Text, ServerTimeMs: now, RequestId: m.RequestId,
		}})
	case *protocol.StateSetT:
		return envelope(&protocol.MessageT{Type: protocol.MessageStateChanged, Value: &protocol.StateChangedT{
			Sequence: 2,
			Entry:    &protocol.StateEntryT{Key: m.Key, Value: m.Value, Version: m.ExpectedVersion + 1, UpdatedBy: 1},
			Deleted:  m.Delete, ServerTimeMs: now, RequestId: m.RequestId,
		}})
	case *protocol.PingT:
		return envelope(&protocol.MessageT{Type: protocol.MessagePong, Value: &protocol.PongT{
			ClientTimeMs: m.ClientTimeMs, ServerTimeMs: now, RequestId: m.RequestId}})
	default:
		return envelope(&protocol.MessageT{Type: protocol.MessageError, Value: &protocol.ErrorT{
			Code: common.ErrorCodeNotClientMessage, Message: "not a client message",
			RequestType: uint8(in.Message.Type)}})
	}
}

func envelope(msg *protocol.MessageT) []byte {
	b := flatbuffers.NewBuilder(256)
	b.FinishWithFileIdentifier((&protocol.EnvelopeT{Message: msg}).Pack(b), []byte("PLZP"))
	return b.FinishedBytes()
}

func init() { log.SetOutput(os.Stderr) }
