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
// Message bytes are charged to the writer's MemoryBudget while they sit in the queue; the
// charge goes back when the message is read or freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "kernel/core/memory_budget.h"
#include "kernel/objects/waitable.h"

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

class MessageQueue final : public RefCounted {
public:
    explicit MessageQueue(MsgQueueOptions options);
    // A number for diagnostics that both ends show (cedump pairs them by it).
    uint64_t id() const { return id_; }

    const MsgQueueOptions& options() const { return options_; }
    bool allow_broken() const;
    bool broken() const { return broken_; }

    // The end of each direction while it has a handle entry (null before it is opened and after
    // its last handle closed).
    MsgQueueObject* end(bool reader) const { return reader ? reader_ : writer_; }
    void attach(MsgQueueObject* end, bool reader) { (reader ? reader_ : writer_) = end; }
    // The last handle of an end closed: without ALLOW_BROKEN the queue breaks and every
    // message, read or not, is freed at once (§5.6).
    void end_closed(bool reader);

    bool has_message() const { return alert_.has_value() || !messages_.empty(); }
    // Room for one more ordinary message (the alert slot does not count, §5.5 loop d).
    bool has_room() const {
        return options_.max_messages == 0 || messages_.size() < options_.max_messages;
    }
    bool alert_free() const { return !alert_.has_value(); }
    void push(QueuedMessage m, bool to_alert_slot);
    // The alert message if there is one, else the oldest; the queue must hold one.
    QueuedMessage pop();

    uint32_t current() const { return static_cast<uint32_t>(messages_.size()); }
    uint32_t high_water() const { return high_water_; }
    size_t bytes() const { return bytes_; }

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

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    Ref<MessageQueue> queue_;
    bool reader_;
};

}  // namespace cek::kernel
