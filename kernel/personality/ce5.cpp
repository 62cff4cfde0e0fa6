// The CE 5 personality (CE 4.2 and 5.0: the slotted kernel). Rules: docs/semantics/.
#include "kernel/objects/waitable.h"
#include "kernel/personality/personality.h"
#include "protocol/ce_constants.h"

namespace cek::kernel {

namespace {

class Ce5 final : public Personality {
public:
    std::string_view name() const override { return "ce5"; }
    uint32_t version() const override { return 5; }

    // One global table: the same value in every process and for every open (handles.md §1).
    bool per_process_handles() const override { return false; }
    // CE 5 reports a full handle list as what it is there: an allocation failure.
    Win32Error handle_quota_error() const override { return Win32Error::ERROR_NOT_ENOUGH_MEMORY; }

    // One address space for every mapping (the window): a view is the mapping's base plus the
    // offset, the same in every process, and it keeps the handle entry (CE 5 IncRef).
    bool view_holds_handle() const override { return true; }
    ViewRules view_rules() const override { return ViewRules::Ce5; }
    // Every thread carries the kernel's key, which the mapper region is locked with: any process
    // reads and writes any mapping by address.
    bool views_global() const override { return true; }

    // CreateFileForMapping runs in the kernel: the share argument is ignored; exactly
    // GENERIC_READ shares reads, anything else is exclusive, FILE_SHARE_WRITE_OVERRIDE shares both.
    bool kernel_owns_mapping_files() const override { return true; }
    uint32_t mapping_file_share(uint32_t desired_access, uint32_t share) const override {
        return cffm_share_mode(desired_access, share);
    }

    // No view of the caller's at that exact address.
    Win32Error unmap_error() const override { return Win32Error::ERROR_INVALID_ADDRESS; }
    bool unmap_writes_back() const override { return false; }
    MappingOrder mapping_order() const override { return MappingOrder::Ce5; }

    // TerminateProcess fails on a dying target and on the caller (which dies anyway).
    Win32Error terminate_exiting_error() const override { return Win32Error::ERROR_ACCESS_DENIED; }
    Win32Error terminate_self_error() const override { return Win32Error::ERROR_ACCESS_DENIED; }

    // A reservation must be more than 0; the name as given is tried, then with ".exe".
    bool reservation_valid(int32_t size) const override { return size > 0; }
    std::vector<std::u16string> image_names(std::u16string_view name) const override {
        std::vector<std::u16string> names{std::u16string(name)};
        if (!ends_with_exe(name)) names.push_back(std::u16string(name) + u".exe");
        return names;
    }
    // A long name is one of the arguments refused at once; CE 5 sets no limit on the command
    // line, so the kernel's own applies.
    Win32Error long_image_name_error() const override {
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    uint32_t command_line_longest() const override { return ce::kProcessCommandLongest; }
    bool process_slots() const override { return true; }

    // Within the calling process only, sync objects only, DUPLICATE_SAME_ACCESS required, no
    // inheritance; every failure is ERROR_INVALID_PARAMETER. The same value comes back; with
    // DUPLICATE_CLOSE_SOURCE the new reference replaces the source's.
    Result<DuplicatePlan> duplicate(const DuplicateCall& c,
                                     std::optional<ObjectType> held) const override {
        constexpr Win32Error kInvalid = Win32Error::ERROR_INVALID_PARAMETER;
        if (c.source_process != ce::kCurrentProcessHandle ||
            c.target_process != ce::kCurrentProcessHandle)
            return kInvalid;
        if ((c.options & ce::kDuplicateSameAccess) == 0 ||
            (c.options & ~(ce::kDuplicateSameAccess | ce::kDuplicateCloseSource)) != 0 || c.inherit)
            return kInvalid;
        if (!held || !Waitable::is_sync(*held)) return kInvalid;
        return DuplicatePlan{(c.options & ce::kDuplicateCloseSource) == 0};
    }
};

}  // namespace

std::unique_ptr<Personality> make_ce5() { return std::make_unique<Ce5>(); }

}  // namespace cek::kernel
