#include "kernel/objects/msgqueue_object.h"

#include <string>
#include <utility>

#include "protocol/ce_constants.h"

namespace cek::kernel {

namespace {
uint64_t g_next_queue_id = 1;  // the kernel's one thread only
}  // namespace

MessageQueue::MessageQueue(MsgQueueOptions options)
    : options_(options), id_(g_next_queue_id++) {}

bool MessageQueue::allow_broken() const {
    return (options_.flags & ce::kMsgQueueAllowBroken) != 0;
}

void MessageQueue::end_closed(bool reader) {
    (reader ? reader_ : writer_) = nullptr;
    if (allow_broken()) return;
    broken_ = true;
    alert_.reset();
    messages_.clear();
    bytes_ = 0;
}

void MessageQueue::push(QueuedMessage m, bool to_alert_slot) {
    bytes_ += m.data.size();
    if (to_alert_slot) {
        alert_.emplace(std::move(m));
        return;
    }
    messages_.push_back(std::move(m));
    if (messages_.size() > high_water_) high_water_ = static_cast<uint32_t>(messages_.size());
}

QueuedMessage MessageQueue::pop() {
    QueuedMessage m;
    if (alert_) {
        m = std::move(*alert_);
        alert_.reset();
    } else {
        m = std::move(messages_.front());
        messages_.pop_front();
    }
    bytes_ -= m.data.size();
    return m;
}

bool MsgQueueObject::available() const {
    // A broken queue, or an end whose last handle closed under a waiter: whoever waits here
    // looks again (and learns ERROR_PIPE_NOT_CONNECTED or ERROR_INVALID_HANDLE).
    if (queue_->broken() || queue_->end(reader_) != this) return true;
    return reader_ ? queue_->has_message() : queue_->has_room();
}

void MsgQueueObject::describe(ObjectDetails& out) const {
    const MessageQueue& q = *queue_;
    const auto& o = q.options();
    out.emplace_back("end", reader_ ? "reader" : "writer");
    out.emplace_back("queue", std::to_string(q.id()));
    std::string flags;
    if ((o.flags & ce::kMsgQueueNoPrecommit) != 0) flags += "noprecommit";
    if ((o.flags & ce::kMsgQueueAllowBroken) != 0) flags += flags.empty() ? "allow_broken" : "|allow_broken";
    out.emplace_back("flags", flags.empty() ? "0" : flags);
    out.emplace_back("max_messages", o.max_messages == 0 ? "unlimited" : std::to_string(o.max_messages));
    out.emplace_back("max_bytes", std::to_string(o.max_bytes));
    out.emplace_back("messages", std::to_string(q.current()));
    out.emplace_back("alert", q.alert_free() ? "no" : "yes");
    out.emplace_back("high_water", std::to_string(q.high_water()));
    out.emplace_back("bytes", std::to_string(q.bytes()));
    out.emplace_back("other_end", q.end(!reader_) != nullptr ? "open" : "closed");
    out.emplace_back("state", q.broken() ? "broken" : "connected");
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t MsgQueueObject::memory_bytes() const {
    // The queue's storage is shown once, with its reader end (or the writer when alone).
    size_t shared = 0;
    if (reader_ || queue_->end(true) == nullptr)
        shared = sizeof(MessageQueue) + queue_->bytes() +
                 (queue_->current() + 1) * sizeof(QueuedMessage);
    return memory_of<MsgQueueObject>() + shared;
}

}  // namespace cek::kernel
