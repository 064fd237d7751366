//go:build !js

package gpu

/*
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Declarations copied from the binding's lib/webgpu.h (cogentcore/webgpu
// v0.23.0); wgpuBufferMapAsync and the error scope functions resolve at
// link time from the libwgpu_native.a that the binding links.
typedef struct WGPUBufferImpl* WGPUBuffer;
typedef struct WGPUDeviceImpl* WGPUDevice;
typedef uint32_t WGPUFlags;
typedef WGPUFlags WGPUMapModeFlags;
enum { WGPUMapMode_Read = 0x00000001 };
typedef enum WGPUBufferMapAsyncStatus {
	WGPUBufferMapAsyncStatus_Success = 0x00000000,
	WGPUBufferMapAsyncStatus_Force32 = 0x7FFFFFFF
} WGPUBufferMapAsyncStatus;
typedef enum WGPUErrorFilter {
	WGPUErrorFilter_Validation = 0x00000000,
	WGPUErrorFilter_Force32 = 0x7FFFFFFF
} WGPUErrorFilter;
typedef enum WGPUErrorType {
	WGPUErrorType_NoError = 0x00000000,
	WGPUErrorType_Force32 = 0x7FFFFFFF
} WGPUErrorType;
typedef void (*WGPUBufferMapAsyncCallback)(WGPUBufferMapAsyncStatus status, void * userdata);
typedef void (*WGPUErrorCallback)(WGPUErrorType type, char const * message, void * userdata);
void wgpuBufferMapAsync(WGPUBuffer buffer, WGPUMapModeFlags mode, size_t offset, size_t size, WGPUBufferMapAsyncCallback callback, void * userdata);
void wgpuDevicePushErrorScope(WGPUDevice device, WGPUErrorFilter filter);
void wgpuDevicePopErrorScope(WGPUDevice device, WGPUErrorCallback callback, void * userdata);

// tessera_map_error is what the error scope around the map caught.
typedef struct {
	int type; // a WGPUErrorType; 0 (NoError) if none
	char message[512];
} tessera_map_error;

// tessera_map_done runs when wgpu-native completes the map (from a later
// wgpuDevicePoll, or at once if the map is refused); userdata is the map's
// id, an integer, not a pointer.
static void tessera_map_done(WGPUBufferMapAsyncStatus status, void * userdata) {
	extern void tesseraGPUMapDone(int status, uintptr_t id);
	tesseraGPUMapDone((int)status, (uintptr_t)userdata);
}

static void tessera_map_scope_error(WGPUErrorType type, char const * message, void * userdata) {
	tessera_map_error *e = userdata;
	if (type == WGPUErrorType_NoError || e->type != WGPUErrorType_NoError) {
		return;
	}
	e->type = (int)type;
	if (message != NULL) {
		strncpy(e->message, message, sizeof e->message - 1);
	}
}

// tessera_map_read starts mapping size bytes of buffer for reading. As the
// binding's MapAsync does, it wraps the call in a validation error scope:
// wgpu-native's default handler for an uncaptured error aborts the
// process. wgpu-native calls the scope's callback before
// wgpuDevicePopErrorScope returns, so e on this stack is still live then.
static tessera_map_error tessera_map_read(WGPUDevice device, WGPUBuffer buffer, size_t offset, size_t size, uintptr_t id) {
	tessera_map_error e;
	memset(&e, 0, sizeof e);
	wgpuDevicePushErrorScope(device, WGPUErrorFilter_Validation);
	wgpuBufferMapAsync(buffer, WGPUMapMode_Read, offset, size, tessera_map_done, (void *)id);
	wgpuDevicePopErrorScope(device, tessera_map_scope_error, &e);
	return e;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// The binding's Buffer.MapAsync (cogentcore/webgpu v0.23.0) hands
// wgpu-native, as the callback's userdata, the address of a Go heap
// variable holding a cgo.Handle, and keeps no Go reference to it.
// wgpu-native reads it only when a later Device.Poll runs the callback; a
// garbage collection in between may free and reuse that memory, and the
// callback then panics with "misuse of an invalid Handle". So startMap
// calls wgpuBufferMapAsync itself, with a C callback of its own and a
// userdata that is an integer id, not a pointer: wgpu-native never holds
// Go memory, and the collector can run at any time.

// pendingMaps holds the maps started and not yet completed, by id.
var pendingMaps struct {
	mu   sync.Mutex
	byID map[uintptr]chan<- error
}

// lastMapID is the id of the latest map; ids start at 1.
var lastMapID atomic.Uintptr

// addMap registers done under a new id, never 0.
func addMap(done chan<- error) uintptr {
	id := lastMapID.Add(1)
	for id == 0 {
		id = lastMapID.Add(1)
	}
	pendingMaps.mu.Lock()
	defer pendingMaps.mu.Unlock()
	if pendingMaps.byID == nil {
		pendingMaps.byID = make(map[uintptr]chan<- error)
	}
	pendingMaps.byID[id] = done
	return id
}

// finishMap removes the map id and reports err on its channel; a map
// already finished (or unknown) is ignored.
func finishMap(id uintptr, err error) {
	pendingMaps.mu.Lock()
	done, ok := pendingMaps.byID[id]
	delete(pendingMaps.byID, id)
	pendingMaps.mu.Unlock()
	if !ok {
		return
	}
	select {
	case done <- err:
	default: // outcome already reported
	}
}

// tesseraGPUMapDone receives the outcome of the map id from
// tessera_map_done.
//
//export tesseraGPUMapDone
func tesseraGPUMapDone(status C.int, id C.uintptr_t) {
	var err error
	if s := wgpu.BufferMapAsyncStatus(status); s != wgpu.BufferMapAsyncStatusSuccess {
		err = fmt.Errorf("map status %d (%v)", int(status), s)
	}
	finishMap(uintptr(id), err)
}

// bufferMirror has the layout of wgpu.Buffer in cogentcore/webgpu v0.23.0
// (go.mod pins that version): struct { deviceRef C.WGPUDevice; ref
// C.WGPUBuffer }. The binding exports no accessor for the raw handles, and
// startMap needs them to call wgpu-native itself. Check this struct again
// when upgrading the binding.
type bufferMirror struct {
	deviceRef unsafe.Pointer
	ref       unsafe.Pointer
}

// rawBuffer returns buf's WGPUBuffer and the WGPUDevice it belongs to.
func rawBuffer(buf *wgpu.Buffer) (C.WGPUDevice, C.WGPUBuffer) {
	m := (*bufferMirror)(unsafe.Pointer(buf))
	return C.WGPUDevice(m.deviceRef), C.WGPUBuffer(m.ref)
}

// startMap starts mapping size bytes of buf for reading; the returned
// channel receives the outcome once a Device.Poll runs the callback (or
// at once if wgpu-native refuses the map).
func startMap(buf *wgpu.Buffer, size uint64) <-chan error {
	done := make(chan error, 1)
	if buf == nil {
		done <- errors.New("map: nil buffer")
		return done
	}
	dev, ref := rawBuffer(buf)
	id := addMap(done)
	e := C.tessera_map_read(dev, ref, 0, C.size_t(size), C.uintptr_t(id))
	if e._type != 0 {
		// Refused maps usually also report a failed status through the
		// callback, which has then already delivered it.
		finishMap(id, fmt.Errorf("map async: %s", C.GoString(&e.message[0])))
	}
	return done
}
