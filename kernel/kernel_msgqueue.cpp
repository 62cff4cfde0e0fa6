// Point-to-point message queues: CreateMsgQueue, OpenMsgQueue, ReadMsgQueue, WriteMsgQueue,
// GetMsgQueueInfo, and what closing an end does. Rules: ce-kernel-objects.md §5,
// docs/semantics/msgqueue.md; data path: docs/decisions/0007-message-queues.md.
//
// The kernel never blocks: a read of an empty queue or a write to a full one with a time-out is
// parked on the queue end like a wait (kernel_waits.cpp) and done when the end becomes ready
// (try_msg_op), or answered ERROR_TIMEOUT when its time is up; a zero time-out answers
// ERROR_TIMEOUT at once.
#include <algorithm>
#include <cstring>

#include "fsys/path.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"

namespace cek::kernel {

namespace {

// What the kernel holds for a queued message beyond its bytes (node, deque slot, charge).
constexpr size_t kMessageOverhead = sizeof(QueuedMessage) + 16;

std::u16string end_key(bool reader, const std::u16string& name) {
    return (reader ? u"R:" : u"W:") + name;
}

}  // namespace

Result<HandleValue> Kernel::add_msg_queue_end(ProcessId caller, const Ref<MessageQueue>& queue,
                                              bool reader) {
    auto end = make_ref<MsgQueueObject>(queue, reader);
    CEK_TRY(HandleValue handle, insert_handle(end, caller, 0));
    queue->attach(end.get(), reader);
    return handle;
}

Result<HandleValue> Kernel::create_msg_queue(ProcessId caller, const std::u16string* name,
                                             uint32_t options_size, MsgQueueOptions options,
                                             bool read_access, LastError& last_error) {
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // §5.3 step 1-2: the internal bit goes, then the options are checked.
    options.flags &= ~ce::kMsgQueueInternalFlag;
    if (options.max_bytes == 0 || options.max_bytes > ce::kMsgQueueMaxMessageBytes ||
        options_size < ce::kMsgQueueOptionsSize ||
        options.max_messages > ce::kMsgQueueMaxMessages ||
        (options.flags & ~(ce::kMsgQueueNoPrecommit | ce::kMsgQueueAllowBroken)) != 0)
        return Win32Error::ERROR_INVALID_PARAMETER;
    // Step 3: the name.
    if (name != nullptr && name->size() > ce::kMsgQueueMaxNameChars)
        return Win32Error::ERROR_INVALID_PARAMETER;
    // Step 4: no limit means no pre-commit.
    if (options.max_messages == 0) options.flags |= ce::kMsgQueueNoPrecommit;
    auto new_queue = [&]() -> Result<Ref<MessageQueue>> {
        // §5.2: at most 16 MB pre-committed. The storage is not reserved up front (each
        // message is charged to its writer's budget when it is written), but the limit and
        // its error are CE's.
        if ((options.flags & ce::kMsgQueueNoPrecommit) == 0 &&
            uint64_t{options.max_bytes} * options.max_messages > ce::kMsgQueuePrecommitLimit)
            return Win32Error::ERROR_OUTOFMEMORY;
        // A bounded queue small enough gets a ring, charged to its creator while it lives; past
        // the creator's budget (or when the host refuses), the messages stay here.
        std::unique_ptr<MsgRingMemory> ring;
        if (const uint64_t bytes = proto::msg_ring_bytes(options.max_messages, options.max_bytes);
            bytes != 0 && config_.msg_rings) {
            if (auto charge = memory_budget_.charge(caller, bytes))
                ring = MsgRingMemory::make(options, bytes, std::move(*charge));
        }
        return make_ref<MessageQueue>(options, std::move(ring));
    };
    if (name == nullptr) {
        CEK_TRY(Ref<MessageQueue> queue, new_queue());
        CEK_TRY(HandleValue handle, add_msg_queue_end(caller, queue, read_access));
        last_error = LastError::to(Win32Error::ERROR_SUCCESS);
        log::msgqueue()->debug("created queue {} {} h={:#x}", queue->id(),
                               read_access ? "reader" : "writer", handle.raw);
        return handle;
    }
    // Step 6: this end by name, else the other end's queue, else a new queue.
    const std::u16string key = end_key(read_access, *name);
    Ref<MsgQueueObject> made;
    bool joined = false;
    auto handle = create_named(caller, ObjectType::MsgQueue, &key, last_error,
                               [&]() -> Result<Ref<MsgQueueObject>> {
        Ref<MessageQueue> queue;
        if (auto other = names_.find(ObjectType::MsgQueue, end_key(!read_access, *name))) {
            auto* end = object_cast<MsgQueueObject>(other);
            queue = end->queue_ref();
            joined = true;
        } else {
            CEK_TRY(queue, new_queue());
        }
        made = make_ref<MsgQueueObject>(queue, read_access);
        return made;
    });
    if (!handle) return handle;
    if (made) {
        made->queue().attach(made.get(), read_access);
        if (joined) last_error = LastError::to(Win32Error::ERROR_ALREADY_EXISTS);
    }
    log::msgqueue()->debug("create \"{}\" {} h={:#x}{}", log::text(*name),
                           read_access ? "reader" : "writer", handle.value().raw,
                           made ? (joined ? " (joined)" : " (new)") : " (existing end)");
    return handle;
}

Result<HandleValue> Kernel::open_msg_queue(ProcessId caller, uint32_t source_process,
                                           HandleValue queue, uint32_t options_size,
                                           bool read_access) {
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // §5.4: the source process first (CE 5: a process handle is the process id), a live one.
    auto named = process_for(caller, HandleValue{source_process});
    if (!named || process(named.value()->process()) == nullptr)
        return Win32Error::ERROR_INVALID_HANDLE;
    const ProcessId source = named.value()->process();
    if (queue.raw == 0 || options_size < ce::kMsgQueueOptionsSize)
        return Win32Error::ERROR_INVALID_PARAMETER;
    auto found = lookup<MsgQueueObject>(source, queue, Need::nothing,
                                        Win32Error::ERROR_INVALID_PARAMETER);
    if (!found) return found.error();
    MsgQueueObject* held = found.value();
    const Ref<MessageQueue> q = held->queue_ref();
    if (q->broken()) return Win32Error::ERROR_INVALID_PARAMETER;
    if (held->named()) {
        // A named queue: as CreateMsgQueue(name) with the queue's own options; last error 0.
        std::u16string name = held->name().substr(2);
        LastError ignored;
        return create_msg_queue(caller, &name, ce::kMsgQueueOptionsSize, q->options(),
                                read_access, ignored);
    }
    if (MsgQueueObject* end = q->end(read_access)) {
        auto opened = handles_.open(Ref<KernelObject>(end), caller, 0);
        if (!opened) return personality_->handle_quota_error();
        return opened;
    }
    return add_msg_queue_end(caller, q, read_access);
}

Result<void> Kernel::enqueue(ThreadRef caller, HandleValue handle, std::vector<std::byte>& data,
                             uint32_t flags, MemoryBudget::Charge* charge) {
    // §5.5, WriteMsgQueue's order.
    if (data.empty()) return Win32Error::ERROR_INVALID_PARAMETER;
    auto found = lookup<MsgQueueObject>(caller.process, handle);
    if (!found || found.value()->reader()) return Win32Error::ERROR_INVALID_HANDLE;
    MessageQueue& q = found.value()->queue();
    if (q.ring() != nullptr) return ring_only(caller.process, q);
    if (data.size() > q.options().max_bytes) return Win32Error::ERROR_INSUFFICIENT_BUFFER;
    if (q.broken() || (!q.allow_broken() && q.end(true) == nullptr))
        return Win32Error::ERROR_PIPE_NOT_CONNECTED;
    const bool alert = (flags & ce::kMsgQueueMsgAlert) != 0;
    const bool to_alert_slot = alert && q.alert_free();
    if (!to_alert_slot && !q.has_room()) return Win32Error::ERROR_TIMEOUT;
    QueuedMessage m;
    if (charge != nullptr) {
        m.charge = std::move(*charge);
    } else {
        auto c = memory_budget_.charge(caller.process, data.size() + kMessageOverhead);
        if (!c) return Win32Error::ERROR_OUTOFMEMORY;
        m.charge = std::move(*c);
    }
    m.data = std::move(data);
    m.flags = alert ? ce::kMsgQueueMsgAlert : 0;
    q.push(std::move(m), to_alert_slot);
    if (MsgQueueObject* reader = q.end(true)) wake_waiters(*reader);
    return {};
}

Result<void> Kernel::write_msg_queue(ThreadRef caller, HandleValue queue,
                                     std::vector<std::byte>& data, uint32_t flags) {
    return enqueue(caller, queue, data, flags, nullptr);
}

Result<MsgQueueMessage> Kernel::read_msg_queue(ThreadRef caller, HandleValue handle,
                                               uint32_t capacity) {
    if (capacity == 0 || capacity > INT32_MAX) return Win32Error::ERROR_INVALID_PARAMETER;
    auto found = lookup<MsgQueueObject>(caller.process, handle);
    if (!found || !found.value()->reader()) return Win32Error::ERROR_INVALID_HANDLE;
    MessageQueue& q = found.value()->queue();
    if (q.ring() != nullptr) return ring_only(caller.process, q);
    if (q.broken() || (!q.allow_broken() && q.end(false) == nullptr))
        return Win32Error::ERROR_PIPE_NOT_CONNECTED;
    if (!q.has_message()) return Win32Error::ERROR_TIMEOUT;
    QueuedMessage m = q.pop();
    MsgQueueMessage out;
    out.flags = m.flags;
    out.truncated = m.data.size() > capacity;
    if (out.truncated) m.data.resize(capacity);  // the rest is dropped (§5.5 success row)
    out.data = std::move(m.data);
    out.charge = std::move(m.charge);
    if (MsgQueueObject* writer = q.end(false)) wake_waiters(*writer);
    return out;
}

Win32Error Kernel::ring_only(ProcessId caller, const MessageQueue& q) {
    // The ring's clients move its messages under a lock the kernel never takes (it must never
    // wait for a client): a client that asks the kernel instead is not using the protocol.
    log::msgqueue()->debug("process {}: message through the kernel on queue {}, which has a ring",
                           caller.raw, q.id());
    return Win32Error::ERROR_INVALID_HANDLE;
}

Result<MsgRingGrant> Kernel::msg_queue_ring(ProcessId caller, HandleValue handle) {
    auto found = lookup<MsgQueueObject>(caller, handle);
    if (!found) return Win32Error::ERROR_INVALID_HANDLE;
    const MsgQueueObject& end = *found.value();
    const MessageQueue& q = end.queue();
    return MsgRingGrant{end.reader(), q.ring(), q.id(), q.options().max_messages,
                        q.options().max_bytes};
}

Result<void> Kernel::notify_msg_queue(ProcessId caller, HandleValue handle) {
    auto found = lookup<MsgQueueObject>(caller, handle);
    if (!found) return Win32Error::ERROR_INVALID_HANDLE;
    MessageQueue& q = found.value()->queue();
    for (bool reader : {true, false})
        if (MsgQueueObject* end = q.end(reader)) wake_waiters(*end);
    return {};
}

Result<MsgQueueInfo> Kernel::msg_queue_info(ProcessId caller, HandleValue handle,
                                            uint32_t info_size) {
    // §5.7: a short size and a handle with no queue are both ERROR_INVALID_PARAMETER.
    if (info_size < ce::kMsgQueueInfoSize) return Win32Error::ERROR_INVALID_PARAMETER;
    auto found = lookup<MsgQueueObject>(caller, handle, Need::nothing,
                                        Win32Error::ERROR_INVALID_PARAMETER);
    if (!found) return found.error();
    const MessageQueue& q = found.value()->queue();
    auto count = [&](bool reader) -> uint16_t {
        const MsgQueueObject* end = q.end(reader);
        const uint32_t n = end != nullptr ? handles_.handle_count(*end) : 0;
        return static_cast<uint16_t>(std::min<uint32_t>(n, UINT16_MAX));
    };
    const auto& o = q.options();
    return MsgQueueInfo{o.flags, o.max_messages, o.max_bytes, q.current(), q.high_water(),
                        count(true), count(false)};
}

void Kernel::msg_queue_end_closed(MsgQueueObject& end) {
    MessageQueue& q = end.queue();
    if (q.end(end.reader()) != &end) return;  // an end that was never linked
    const Ref<MessageQueue> keep = end.queue_ref();
    q.end_closed(end.reader());
    log::msgqueue()->debug("queue {}: last {} handle closed{}", q.id(),
                           end.reader() ? "reader" : "writer", q.broken() ? ", broken" : "");
    // CE sets both ends' events: waiters on either end look again (§5.1).
    wake_waiters(end);
    if (MsgQueueObject* other = q.end(!end.reader())) wake_waiters(*other);
}

Result<uint32_t> Kernel::stage_msg_part(ThreadRef caller, HandleValue handle, uint32_t total,
                                        uint32_t offset, std::span<const std::byte> part) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (offset == 0) {
        p->msg_staging.erase(caller.tid);
        if (total == 0) return Win32Error::ERROR_INVALID_PARAMETER;
        // The checks WriteMsgQueue makes before it would wait, so a bad call stages nothing.
        auto found = lookup<MsgQueueObject>(caller.process, handle);
        if (!found || found.value()->reader()) return Win32Error::ERROR_INVALID_HANDLE;
        if (total > found.value()->queue().options().max_bytes)
            return Win32Error::ERROR_INSUFFICIENT_BUFFER;
        auto charge = memory_budget_.charge(caller.process, total + kMessageOverhead);
        if (!charge) return Win32Error::ERROR_OUTOFMEMORY;
        MsgStaging s;
        s.queue = handle;
        s.write = true;
        s.total = total;
        s.message.data.reserve(total);
        s.message.charge = std::move(*charge);
        p->msg_staging.emplace(caller.tid, std::move(s));
    }
    auto it = p->msg_staging.find(caller.tid);
    if (it == p->msg_staging.end() || !it->second.write || it->second.queue != handle ||
        it->second.total != total || it->second.done != offset ||
        part.size() > total - offset) {
        if (it != p->msg_staging.end()) p->msg_staging.erase(it);
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    MsgStaging& s = it->second;
    s.message.data.insert(s.message.data.end(), part.begin(), part.end());
    s.done += static_cast<uint32_t>(part.size());
    return s.done;
}

Result<void> Kernel::write_staged_msg(ThreadRef caller, HandleValue handle, uint32_t flags) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    auto it = p->msg_staging.find(caller.tid);
    if (it == p->msg_staging.end() || !it->second.write || it->second.queue != handle ||
        it->second.done != it->second.total)
        return Win32Error::ERROR_INVALID_PARAMETER;
    MsgStaging& s = it->second;
    auto r = enqueue(caller, handle, s.message.data, flags, &s.message.charge);
    // A full queue keeps the staged message for the next try; anything else ends it.
    if (r || r.error() != Win32Error::ERROR_TIMEOUT) p->msg_staging.erase(it);
    return r;
}

void Kernel::keep_read_rest(ThreadRef caller, HandleValue queue, MsgQueueMessage message,
                            uint32_t offset) {
    Process* p = process(caller.process);
    if (p == nullptr) return;
    MsgStaging s;
    s.queue = queue;
    s.total = static_cast<uint32_t>(message.data.size());
    s.done = offset;
    s.message = std::move(message);
    p->msg_staging.insert_or_assign(caller.tid, std::move(s));
}

Result<uint32_t> Kernel::take_read_rest(ThreadRef caller, HandleValue queue, uint32_t offset,
                                        std::span<std::byte> out) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    auto it = p->msg_staging.find(caller.tid);
    if (it == p->msg_staging.end() || it->second.write || it->second.queue != queue ||
        it->second.done != offset)
        return Win32Error::ERROR_INVALID_PARAMETER;
    MsgStaging& s = it->second;
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(out.size(), s.total - s.done));
    std::memcpy(out.data(), s.message.data.data() + s.done, n);
    s.done += n;
    if (s.done == s.total) p->msg_staging.erase(it);
    return n;
}

void Kernel::drop_msg_staging(ThreadRef caller) {
    if (Process* p = process(caller.process)) p->msg_staging.erase(caller.tid);
}

// ---- Calls that wait (ReadMsgQueue / WriteMsgQueue with a time-out) ----

namespace {

template <class T>
bool parks(const Result<T>& r, uint32_t timeout_ms) {
    return !r && r.error() == Win32Error::ERROR_TIMEOUT && timeout_ms != 0;
}

}  // namespace

void Kernel::park_msg_op(ThreadRef caller, HandleValue queue, uint32_t timeout_ms, uint64_t tag,
                         MsgOp op) {
    // Only called after the same call answered ERROR_TIMEOUT: the caller and the end exist.
    auto* end = lookup<MsgQueueObject>(caller.process, queue).value();
    park(*process(caller.process), Wait{caller, tag, {Ref<Waitable>(end)}, {queue}, timeout_ms,
                                        0, std::nullopt, std::move(op)});
}

std::optional<Result<MsgQueueMessage>> Kernel::read_msg_queue(ThreadRef caller, HandleValue queue,
                                                              uint32_t capacity,
                                                              uint32_t timeout_ms, uint64_t tag,
                                                              uint32_t first_part) {
    auto r = read_msg_queue(caller, queue, capacity);
    if (!parks(r, timeout_ms)) return r;
    MsgOp op;
    op.read = true;
    op.capacity = capacity;
    op.first_part = first_part;
    park_msg_op(caller, queue, timeout_ms, tag, std::move(op));
    return std::nullopt;
}

std::optional<Result<void>> Kernel::write_msg_queue(ThreadRef caller, HandleValue queue,
                                                    std::vector<std::byte>& data, uint32_t flags,
                                                    uint32_t timeout_ms, uint64_t tag) {
    auto r = write_msg_queue(caller, queue, data, flags);
    if (!parks(r, timeout_ms)) return r;
    MsgOp op;
    op.flags = flags;
    op.data = std::move(data);
    park_msg_op(caller, queue, timeout_ms, tag, std::move(op));
    return std::nullopt;
}

std::optional<Result<void>> Kernel::write_staged_msg(ThreadRef caller, HandleValue queue,
                                                     uint32_t flags, uint32_t timeout_ms,
                                                     uint64_t tag) {
    auto r = write_staged_msg(caller, queue, flags);
    if (!parks(r, timeout_ms)) return r;
    MsgOp op;
    op.flags = flags;
    op.staged = true;
    park_msg_op(caller, queue, timeout_ms, tag, std::move(op));
    return std::nullopt;
}

bool Kernel::try_msg_op(uint64_t id) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return false;
    Wait& w = it->second;
    if (!w.objects.front()->ready_for(w.thread)) return false;
    MsgOp& op = *w.msg;
    const HandleValue queue = w.handles.front();
    WaitCompletion done{w.thread.process, w.tag, 0};
    if (op.read) {
        // The same call again, now that the end is ready: a handle closed meanwhile gives
        // ERROR_INVALID_HANDLE, a broken queue ERROR_PIPE_NOT_CONNECTED, as in CE's loop.
        auto r = read_msg_queue(w.thread, queue, op.capacity);
        if (!r && r.error() == Win32Error::ERROR_TIMEOUT) return false;
        done.code = proto::RequestCode::MsgQueueRead;
        if (!r) {
            done.failed = true;
            done.error = r.error();
        } else {
            MsgQueueMessage& m = r.value();
            done.msg_size = static_cast<uint32_t>(m.data.size());
            done.msg_flags = m.flags;
            done.msg_truncated = m.truncated;
            if (m.data.size() > op.first_part) {
                done.msg_data.assign(m.data.begin(), m.data.begin() + op.first_part);
                keep_read_rest(w.thread, queue, std::move(m), op.first_part);
            } else {
                done.msg_data = std::move(m.data);
            }
        }
    } else {
        auto r = op.staged ? write_staged_msg(w.thread, queue, op.flags)
                           : write_msg_queue(w.thread, queue, op.data, op.flags);
        if (!r && r.error() == Win32Error::ERROR_TIMEOUT) return false;
        done.code = proto::RequestCode::MsgQueueWrite;
        done.failed = !r;
        if (!r) done.error = r.error();
    }
    // Leaves every list as a completed wait does, with the call's own completion.
    const Wait finished = unlist(it);
    log::msgqueue()->debug("parked {} done process={} tid={}{}",
                           done.code == proto::RequestCode::MsgQueueRead ? "read" : "write",
                           finished.thread.process.raw, finished.thread.tid,
                           done.failed ? " (failed)" : "");
    completions_.push_back(std::move(done));
    return true;
}

}  // namespace cek::kernel
