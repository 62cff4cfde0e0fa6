#include "kernel/objects/msgqueue_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

#include "kernel/core/memfd.h"
#include "kernel/log.h"
#include "protocol/ce_constants.h"
#include "protocol/futex.h"

namespace cek::kernel {

namespace {
uint64_t g_next_queue_id = 1;  // the kernel's one thread only
}  // namespace

std::unique_ptr<MsgRingMemory> MsgRingMemory::make(const MsgQueueOptions& options,
                                                   uint64_t bytes, MemoryBudget::Charge charge) {
    // Sealed at its size: a client cannot shrink the ring under the kernel's reads.
    const int fd = make_memfd("cek-msgqueue", bytes, F_SEAL_SEAL);
    void* base = MAP_FAILED;
    if (fd >= 0) base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const uint32_t state =
        (options.flags & ce::kMsgQueueAllowBroken) != 0 ? proto::kRingAllowBroken : 0;
    if (base == MAP_FAILED) {
        log::msgqueue()->warn("making a queue ring of {} bytes failed errno={}", bytes, errno);
        if (fd >= 0) ::close(fd);
        return nullptr;
    }
    proto::MsgRing::init(base, options.max_messages, options.max_bytes, state);
    return std::unique_ptr<MsgRingMemory>(
        new MsgRingMemory(fd, base, bytes, options, std::move(charge)));
}

MsgRingMemory::MsgRingMemory(int fd, void* base, uint64_t bytes, const MsgQueueOptions& options,
                             MemoryBudget::Charge charge)
    : fd_(fd), ring_(base, bytes, options.max_messages, options.max_bytes),
      state_(ring_.header().state.load()), charge_(std::move(charge)) {
    struct stat st {};
    if (::fstat(fd, &st) == 0) {
        dev_ = st.st_dev;
        ino_ = st.st_ino;
    }
}

MsgRingMemory::~MsgRingMemory() {
    ::munmap(&ring_.header(), ring_.bytes());
    ::close(fd_);
}

void MsgRingMemory::update_state(uint32_t set, uint32_t clear) {
    proto::MsgRingHeader& h = ring_.header();
    state_ = (state_ | set) & ~clear;
    h.state.store(state_);
    h.data_seq.fetch_add(1);
    h.room_seq.fetch_add(1);
    proto::futex_wake(h.data_seq, INT_MAX);
    proto::futex_wake(h.room_seq, INT_MAX);
}

MessageQueue::MessageQueue(MsgQueueOptions options, std::unique_ptr<MsgRingMemory> ring)
    : options_(options), id_(g_next_queue_id++), ring_(std::move(ring)) {}

void MessageQueue::attach(MsgQueueObject* end, bool reader) {
    (reader ? reader_ : writer_) = end;
    if (!ring_) return;
    ring_->update_state(reader ? proto::kRingReaderEnd : proto::kRingWriterEnd, 0);
    end->waits_changed();  // a new end: its own count, not its predecessor's
}

bool MessageQueue::allow_broken() const {
    return (options_.flags & ce::kMsgQueueAllowBroken) != 0;
}

void MessageQueue::end_closed(bool reader) {
    (reader ? reader_ : writer_) = nullptr;
    const uint32_t end = reader ? proto::kRingReaderEnd : proto::kRingWriterEnd;
    if (allow_broken()) {
        if (ring_) ring_->update_state(0, end);
        return;
    }
    broken_ = true;
    alert_.reset();
    messages_.clear();
    bytes_ = 0;
    // The ring's messages become unreachable at once: every call on it now fails.
    if (ring_) ring_->update_state(proto::kRingBroken, end);
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

void MsgQueueObject::waits_changed() {
    // An end whose last handle closed is ready for its waiters and no longer the queue's.
    MsgRingMemory* r = queue_->ring();
    if (r == nullptr || queue_->end(reader_) != this) return;
    r->ring().header().kernel_watch[reader_ ? 0 : 1].store(static_cast<uint32_t>(waits().size()));
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
    out.emplace_back("storage", q.ring() != nullptr ? "ring" : "kernel");
    if (const MsgRingMemory* r = q.ring()) {
        // Threads asleep in the ring on this end (its clients' count: a killed sleeper stays
        // counted); threads blocked in the kernel are the waiters below.
        const proto::MsgRingHeader& h = r->ring().header();
        out.emplace_back("asleep", std::to_string(std::min<uint32_t>(
                                       (reader_ ? h.read_sleepers : h.write_sleepers).load(),
                                       1u << 16)));
    }
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
