// The CE 6 personality (CE 6.0 and 7.0: per-process handle tables and views). Rules:
// docs/semantics/ (the CE 6 sections), ce-semantics.md's CE 6/7 columns.
#include "kernel/personality/personality.h"
#include "protocol/ce_constants.h"

namespace cek::kernel {

namespace {

class Ce6 final : public Personality {
public:
    std::string_view name() const override { return "ce6"; }
    uint32_t version() const override { return 6; }

    // One table per process; a new value for every open (handles.md §9).
    bool per_process_handles() const override { return true; }
    Win32Error handle_quota_error() const override {
        return Win32Error::ERROR_NO_MORE_USER_HANDLES;
    }

    // Each view object holds a handle count on its mapping, so the name stays while a view
    // does (mappings.md §6). A file view has a range of its own, in the process that mapped
    // it; a RAM-backed view is the mapping's common range at base + offset (mappings.md §3).
    // Only a process that mapped a view reaches it: CE 6 has no kernel key.
    bool view_holds_handle() const override { return true; }
    ViewRules view_rules() const override { return ViewRules::Ce6; }
    bool views_global() const override { return false; }

    // CreateFileForMapping is coredll's: a plain CreateFileW of the caller, on the process's
    // own list; the same share rule as CE 5 (files.md §5).
    bool kernel_owns_mapping_files() const override { return false; }
    uint32_t mapping_file_share(uint32_t desired_access, uint32_t share) const override {
        return cffm_share_mode(desired_access, share);
    }

    Win32Error unmap_error() const override { return Win32Error::ERROR_INVALID_PARAMETER; }
    bool unmap_writes_back() const override { return true; }
    MappingOrder mapping_order() const override { return MappingOrder::Ce6; }

    // TerminateProcess: a target that has exited is no longer a valid handle for it; the caller
    // itself succeeds.
    Win32Error terminate_exiting_error() const override { return Win32Error::ERROR_INVALID_HANDLE; }
    Win32Error terminate_self_error() const override { return Win32Error::ERROR_SUCCESS; }

    // A reservation of 0 means the default; ".exe" is appended unless the name has it, and
    // only that name is tried (so "tool.bin" is looked up as "tool.bin.exe").
    bool reservation_valid(int32_t size) const override { return size >= 0; }
    std::vector<std::u16string> image_names(std::u16string_view name) const override {
        return {ends_with_exe(name) ? std::u16string(name) : std::u16string(name) + u".exe"};
    }
    // The name is copied as a path, which fails for one that long; the command line is copied
    // with a limit of 16K units, terminator included.
    Win32Error long_image_name_error() const override { return Win32Error::ERROR_BAD_PATHNAME; }
    uint32_t command_line_longest() const override { return 16383; }
    bool process_slots() const override { return false; }

    // Any type between any two processes (the kernel resolves them): options 0 means
    // DUPLICATE_SAME_ACCESS, only SAME_ACCESS and CLOSE_SOURCE are allowed, no inheritance.
    Result<DuplicatePlan> duplicate(const DuplicateCall& c,
                                     std::optional<ObjectType>) const override {
        if ((c.options & ~(ce::kDuplicateSameAccess | ce::kDuplicateCloseSource)) != 0 ||
            c.inherit)
            return Win32Error::ERROR_INVALID_PARAMETER;
        return DuplicatePlan{true, (c.options & ce::kDuplicateCloseSource) != 0};
    }
};

}  // namespace

std::unique_ptr<Personality> make_ce6() { return std::make_unique<Ce6>(); }

}  // namespace cek::kernel
