// Requests of cedump: freeze a snapshot and read it in chunks, and read the trace ring.
// See docs/cedump.md.
#include <array>
#include <string>

#include "kernel/handlers/handlers.h"
#include "protocol/channel.h"

namespace cek::kernel::handlers {

size_t handle(Call& call, const proto::SnapshotRequest&, Extra) {
    auto total = call.kernel.freeze_snapshot(call.caller);
    if (!total) return call.fail(total.error());
    return call.ok(proto::SnapshotReply{total.value()});
}
std::string describe(const proto::SnapshotRequest&, Extra) { return ""; }
std::string describe(const proto::SnapshotReply& rep, Extra) {
    return to_string(rep.total_bytes) + " bytes";
}

size_t handle(Call& call, const proto::SnapshotReadRequest& req, Extra) {
    const std::vector<std::byte>* snap = call.kernel.diagnostics().stored_snapshot(call.caller);
    if (snap == nullptr || req.offset > snap->size())
        return call.fail(Win32Error::ERROR_INVALID_PARAMETER);
    const size_t room = call.reply.room_after(sizeof(proto::SnapshotReadReply));
    const size_t chunk = std::min<size_t>(room, snap->size() - req.offset);
    return call.ok(proto::SnapshotReadReply{snap->size(), static_cast<uint32_t>(chunk), 0},
                   LastError::keep(), std::span(snap->data() + req.offset, chunk));
}
std::string describe(const proto::SnapshotReadRequest& req, Extra) {
    return "offset=" + to_string(req.offset);
}
std::string describe(const proto::SnapshotReadReply& rep, Extra) {
    return to_string(rep.chunk_bytes) + " bytes";
}

size_t handle(Call& call, const proto::TraceReadRequest& req, Extra) {
    // Packed straight into a buffer the size of the reply's data area.
    static std::array<std::byte, proto::kReplyBytes - sizeof(proto::ReplyHeader) -
                                     sizeof(proto::TraceReadReply)>
        records;
    const TraceCursor r = call.kernel.diagnostics().read(call.caller, req.cursor, records);
    return call.ok(proto::TraceReadReply{r.next, r.lost, r.count, 0}, LastError::keep(),
                   std::span<const std::byte>(records.data(), r.bytes));
}
std::string describe(const proto::TraceReadRequest& req, Extra) {
    return "cursor=" + to_string(req.cursor);
}
std::string describe(const proto::TraceReadReply& rep, Extra) {
    return to_string(rep.count) + " records";
}

}  // namespace cek::kernel::handlers
