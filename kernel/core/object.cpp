#include "kernel/core/object.h"

namespace cek::kernel {

namespace {
uint64_t g_next_object_id = 1;
}

KernelObject::KernelObject(ObjectType type) : type_(type), id_(g_next_object_id++) {}

}  // namespace cek::kernel
