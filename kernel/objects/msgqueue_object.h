// MsgQueueObject: one end (reader or writer) of a CE 5 point-to-point message queue, and the
// MessageQueue the two ends share (ce-kernel-objects.md §5; docs/semantics/msgqueue.md).
//
// Every handle of a queue refers to one of its two ends, each a waitable object of its own: the
// reader end is ready while a message is there, the writer end while there is room, and both
// once the queue is broken (an end's last handle closed without MSGQUEUE_ALLOW_BROKEN), so a
// thread waiting on the surviving end wakes up and learns ERROR_PIPE_NOT_CONNECTED (and an end
// whose last handle closed under a waiter is ready too, for ERROR_INVALID_HANDLE). Readiness is
// computed from the queue, never stored, so it cannot drift from the messages.
//
// A bounded queue whose messages fit in kMsgRingMaxBytes has a ring (protocol/msg_ring.h): its
// messages live in shared memory that its clients fill and drain themselves, and the kernel only
// keeps the ring's state (ends, broken) and reads its counts. Other queues keep their messages
// here; each message's bytes are charged to the writer's MemoryBudget while they sit in the
// queue, and the charge goes back when the message is read or freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "kernel/core/memory_budget.h"
#include "kernel/objects/waitable.h"
#include "protocol/msg_ring.h"

namespace cek::kernel {

class MsgQueueObject;

// MSGQUEUEOPTIONS as the kernel keeps them (ce-kernel-objects.md §5.2).
struct MsgQueueOptions {
    uint32_t flags = 0;         // kMsgQueueNoPrecommit | kMsgQueueAllowBroken
    uint32_t max_messages = 0;  // 0: unlimited
    uint32_t max_bytes = 0;     // cbMaxMessage
};

struct QueuedMessage {
    std::vector<std::byte> data;
    uint32_t flags = 0;  // MSGQUEUE_MSGALERT kept on a message that missed the alert slot
    MemoryBudget::Charge charge;
};

// A queue's ring as the kernel holds it: the sealed memfd its clients map and the kernel's own
// mapping of it, charged to the creator's budget for the queue's life.
class MsgRingMemory {
public:
    // A new ring, or null (with a warning logged) when the host refuses the memory.
    static std::unique_ptr<MsgRingMemory> make(const MsgQueueOptions& options, uint64_t bytes,
                                               MemoryBudget::Charge charge);
    ~MsgRingMemory();
    MsgRingMemory(const MsgRingMemory&) = delete;
    MsgRingMemory& operator=(const MsgRingMemory&) = delete;

    proto::MsgRing& ring() { return ring_; }
    const proto::MsgRing& ring() const { return ring_; }
    int fd() const { return fd_; }
    uint64_t dev() const { return dev_; }
    uint64_t ino() const { return ino_; }
    // Sets and clears bits of the ring's state (the kernel alone writes it; a client's scribble
    // is overwritten) and wakes every client asleep on the ring, so that each looks again.
    void update_state(uint32_t set, uint32_t clear);

private:
    MsgRingMemory(int fd, void* base, uint64_t bytes, const MsgQueueOptions& options,
                  MemoryBudget::Charge charge);
    int fd_;
    uint64_t dev_ = 0;
    uint64_t ino_ = 0;
    proto::MsgRing ring_;
    uint32_t state_;  // what the ring's state says, kept here
    MemoryBudget::Charge charge_;
};

class MessageQueue final : public RefCounted {
public:
    MessageQueue(MsgQueueOptions options, std::unique_ptr<MsgRingMemory> ring);
    // A number for diagnostics that both ends show (cedump pairs them by it).
    uint64_t id() const { return id_; }

    const MsgQueueOptions& options() const { return options_; }
    bool allow_broken() const;
    bool broken() const { return broken_; }

    // The end of each direction while it has a handle entry (null before it is opened and after
    // its last handle closed).
    MsgQueueObject* end(bool reader) const { return reader ? reader_ : writer_; }
    void attach(MsgQueueObject* end, bool reader);
    // The last handle of an end closed: without ALLOW_BROKEN the queue breaks and every
    // message, read or not, is freed at once (§5.6).
    void end_closed(bool reader);

    // The ring its clients move the messages through, or null: the messages are here.
    MsgRingMemory* ring() const { return ring_.get(); }

    bool has_message() const {
        return ring_ ? ring_->ring().has_message() : alert_.has_value() || !messages_.empty();
    }
    // Room for one more ordinary message (the alert slot does not count, §5.5 loop d).
    bool has_room() const {
        if (ring_) return ring_->ring().has_room();
        return options_.max_messages == 0 || messages_.size() < options_.max_messages;
    }
    bool alert_free() const {
        return ring_ ? ring_->ring().header().alert.load() == 0 : !alert_.has_value();
    }
    // The kernel's own storage (no ring).
    void push(QueuedMessage m, bool to_alert_slot);
    // The alert message if there is one, else the oldest; the queue must hold one.
    QueuedMessage pop();

    // A broken queue's ring keeps its bytes until the queue goes, but none is a message now.
    uint32_t current() const {
        if (ring_) return broken_ ? 0 : ring_->ring().count();
        return static_cast<uint32_t>(messages_.size());
    }
    uint32_t high_water() const { return ring_ ? ring_->ring().high_water() : high_water_; }
    // Message bytes held: the ring's size for a queue with a ring.
    size_t bytes() const { return ring_ ? ring_->ring().bytes() : bytes_; }

private:
    MsgQueueOptions options_;
    uint64_t id_;
    MsgQueueObject* reader_ = nullptr;
    MsgQueueObject* writer_ = nullptr;
    bool broken_ = false;
    std::optional<QueuedMessage> alert_;
    std::deque<QueuedMessage> messages_;
    uint32_t high_water_ = 0;
    size_t bytes_ = 0;  // message data held
    std::unique_ptr<MsgRingMemory> ring_;
};

class MsgQueueObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::MsgQueue;

    MsgQueueObject(Ref<MessageQueue> queue, bool reader)
        : Waitable(kType), queue_(std::move(queue)), reader_(reader) {}

    MessageQueue& queue() const { return *queue_; }
    const Ref<MessageQueue>& queue_ref() const { return queue_; }
    bool reader() const { return reader_; }

    bool ready_for(ThreadRef) const override { return available(); }
    bool available() const override;
    bool acquire_spends() const override { return false; }  // a manual-reset event in CE
    bool acquire(ThreadRef) override { return false; }
    // With a ring, readiness changes in the clients: they learn how many waits watch this end.
    bool changes_outside() const override { return queue_->ring() != nullptr; }
    void waits_changed() override;

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    Ref<MessageQueue> queue_;
    bool reader_;
};

}  // namespace cek::kernel
