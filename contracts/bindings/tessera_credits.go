// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// TesseraCreditsEpoch is an auto generated low-level Go binding around an user-defined struct.
type TesseraCreditsEpoch struct {
	Root         [32]byte
	Total        *big.Int
	Contributors uint64
	CommittedAt  uint64
}

// TesseraCreditsMetaData contains all meta data concerning the TesseraCredits contract.
var TesseraCreditsMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"admin\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"committer\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[],\"name\":\"AccessControlBadConfirmation\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"neededRole\",\"type\":\"bytes32\"}],\"name\":\"AccessControlUnauthorizedAccount\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"latest\",\"type\":\"uint64\"}],\"name\":\"EpochNotIncreasing\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAddress\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroRoot\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"}],\"name\":\"EpochCommitted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"previousAdminRole\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"newAdminRole\",\"type\":\"bytes32\"}],\"name\":\"RoleAdminChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"}],\"name\":\"RoleGranted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"}],\"name\":\"RoleRevoked\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"COMMITTER_ROLE\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"DEFAULT_ADMIN_ROLE\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"}],\"name\":\"commit\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"}],\"name\":\"epochInfo\",\"outputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"committedAt\",\"type\":\"uint64\"}],\"internalType\":\"structTesseraCredits.Epoch\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"}],\"name\":\"getRoleAdmin\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"grantRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"hasRole\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"}],\"name\":\"latestEpoch\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"callerConfirmation\",\"type\":\"address\"}],\"name\":\"renounceRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"revokeRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes4\",\"name\":\"interfaceId\",\"type\":\"bytes4\"}],\"name\":\"supportsInterface\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"proof\",\"type\":\"bytes32[]\"}],\"name\":\"verify\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "TesseraCredits",
	Bin: "0x608060405234801561000f575f5ffd5b50604051610bbe380380610bbe83398101604081905261002e9161016a565b6001600160a01b038216158061004b57506001600160a01b038116155b156100695760405163d92e233d60e01b815260040160405180910390fd5b6100735f836100a6565b5061009e7f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a20106826100a6565b50505061019b565b5f828152602081815260408083206001600160a01b038516845290915281205460ff16610146575f838152602081815260408083206001600160a01b03861684529091529020805460ff191660011790556100fe3390565b6001600160a01b0316826001600160a01b0316847f2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d60405160405180910390a4506001610149565b505f5b92915050565b80516001600160a01b0381168114610165575f5ffd5b919050565b5f5f6040838503121561017b575f5ffd5b6101848361014f565b91506101926020840161014f565b90509250929050565b610a16806101a85f395ff3fe608060405234801561000f575f5ffd5b50600436106100b1575f3560e01c806336568abe1161006e57806336568abe1461023357806391d148541461024657806392b3be8914610259578063a217fddf1461026c578063c9ecaf6d14610273578063d547741f146102b3575f5ffd5b806301ffc9a7146100b55780631a7c3f73146100dd5780631a995651146101125780631cac435c14610127578063248a9ca3146101fe5780632f2ff15d14610220575b5f5ffd5b6100c86100c3366004610824565b6102c6565b60405190151581526020015b60405180910390f35b6101047f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a2010681565b6040519081526020016100d4565b610125610120366004610866565b6102fc565b005b6101b56101353660046108b2565b60408051608080820183525f8083526020808401829052838501829052606093840182905295815260028087528482206001600160401b0396871683528752908490208451928301855280548352600181015496830196909652949094015480841692850192909252680100000000000000009091049091169082015290565b6040516100d491905f60808201905082518252602083015160208301526001600160401b0360408401511660408301526001600160401b03606084015116606083015292915050565b61010461020c3660046108dc565b5f9081526020819052604090206001015490565b61012561022e366004610909565b61050f565b610125610241366004610909565b610539565b6100c8610254366004610909565b610571565b6100c861026736600461092a565b610599565b6101045f81565b61029b6102813660046108dc565b5f908152600160205260409020546001600160401b031690565b6040516001600160401b0390911681526020016100d4565b6101256102c1366004610909565b610637565b5f6001600160e01b03198216637965db0b60e01b14806102f657506301ffc9a760e01b6001600160e01b03198316145b92915050565b7f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a201066103268161065b565b5f868152600160205260409020546001600160401b039081169086168110610380576040516345c9f0b960e01b8152600481018890526001600160401b038088166024830152821660448201526064015b60405180910390fd5b8461039e5760405163b263ae7360e01b815260040160405180910390fd5b8560015f8981526020019081526020015f205f6101000a8154816001600160401b0302191690836001600160401b031602179055506040518060800160405280868152602001858152602001846001600160401b03168152602001426001600160401b031681525060025f8981526020019081526020015f205f886001600160401b03166001600160401b031681526020019081526020015f205f820151815f0155602082015181600101556040820151816002015f6101000a8154816001600160401b0302191690836001600160401b0316021790555060608201518160020160086101000a8154816001600160401b0302191690836001600160401b03160217905550905050856001600160401b0316877f39d4c51a94121c6b45307c3834c5af9c2367e9585800602243290684342ec1d88787876040516104fe9392919092835260208301919091526001600160401b0316604082015260600190565b60405180910390a350505050505050565b5f828152602081905260409020600101546105298161065b565b6105338383610668565b50505050565b6001600160a01b03811633146105625760405163334bd91960e11b815260040160405180910390fd5b61056c82826106f7565b505050565b5f918252602082815260408084206001600160a01b0393909316845291905290205460ff1690565b5f8681526002602090815260408083206001600160401b0389168452909152812054806105c9575f91505061062d565b604080516001600160a01b03881660208201529081018690525f9060600160408051601f198184030181528282528051602091820120908301520160405160208183030381529060405280519060200120905061062885858484610760565b925050505b9695505050505050565b5f828152602081905260409020600101546106518161065b565b61053383836106f7565b6106658133610777565b50565b5f6106738383610571565b6106f0575f838152602081815260408083206001600160a01b03861684529091529020805460ff191660011790556106a83390565b6001600160a01b0316826001600160a01b0316847f2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d60405160405180910390a45060016102f6565b505f6102f6565b5f6107028383610571565b156106f0575f838152602081815260408083206001600160a01b0386168085529252808320805460ff1916905551339286917ff6391f5c32d9c69d2a47ea670b442974b53935d1edc7fd64eb21e047a839171b9190a45060016102f6565b5f8261076d8686856107b4565b1495945050505050565b6107818282610571565b6107b05760405163e2517d3f60e01b81526001600160a01b038216600482015260248101839052604401610377565b5050565b5f81815b848110156107ec576107e2828787848181106107d6576107d66109cc565b905060200201356107f5565b91506001016107b8565b50949350505050565b5f81831061080f575f82815260208490526040902061081d565b5f8381526020839052604090205b9392505050565b5f60208284031215610834575f5ffd5b81356001600160e01b03198116811461081d575f5ffd5b80356001600160401b0381168114610861575f5ffd5b919050565b5f5f5f5f5f60a0868803121561087a575f5ffd5b8535945061088a6020870161084b565b935060408601359250606086013591506108a66080870161084b565b90509295509295909350565b5f5f604083850312156108c3575f5ffd5b823591506108d36020840161084b565b90509250929050565b5f602082840312156108ec575f5ffd5b5035919050565b80356001600160a01b0381168114610861575f5ffd5b5f5f6040838503121561091a575f5ffd5b823591506108d3602084016108f3565b5f5f5f5f5f5f60a0878903121561093f575f5ffd5b8635955061094f6020880161084b565b945061095d604088016108f3565b93506060870135925060808701356001600160401b0381111561097e575f5ffd5b8701601f8101891361098e575f5ffd5b80356001600160401b038111156109a3575f5ffd5b8960208260051b84010111156109b7575f5ffd5b60208201935080925050509295509295509295565b634e487b7160e01b5f52603260045260245ffdfea26469706673582212205a70a7401cd3bffe6fe9b608daf40859755235a481fad8b52b7bbe9bff45a48064736f6c63430008250033",
}

// TesseraCredits is an auto generated Go binding around an Ethereum contract.
type TesseraCredits struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *TesseraCredits) GetABI() abi.ABI {
	return c.abi
}

// NewTesseraCredits creates a new instance of TesseraCredits.
func NewTesseraCredits() *TesseraCredits {
	parsed, err := TesseraCreditsMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &TesseraCredits{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *TesseraCredits) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address admin, address committer) returns()
func (tesseraCredits *TesseraCredits) PackConstructor(admin common.Address, committer common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("", admin, committer)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackCOMMITTERROLE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1a7c3f73.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function COMMITTER_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) PackCOMMITTERROLE() []byte {
	enc, err := tesseraCredits.abi.Pack("COMMITTER_ROLE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCOMMITTERROLE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1a7c3f73.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function COMMITTER_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) TryPackCOMMITTERROLE() ([]byte, error) {
	return tesseraCredits.abi.Pack("COMMITTER_ROLE")
}

// UnpackCOMMITTERROLE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1a7c3f73.
//
// Solidity: function COMMITTER_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) UnpackCOMMITTERROLE(data []byte) ([32]byte, error) {
	out, err := tesseraCredits.abi.Unpack("COMMITTER_ROLE", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackDEFAULTADMINROLE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa217fddf.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function DEFAULT_ADMIN_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) PackDEFAULTADMINROLE() []byte {
	enc, err := tesseraCredits.abi.Pack("DEFAULT_ADMIN_ROLE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDEFAULTADMINROLE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa217fddf.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function DEFAULT_ADMIN_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) TryPackDEFAULTADMINROLE() ([]byte, error) {
	return tesseraCredits.abi.Pack("DEFAULT_ADMIN_ROLE")
}

// UnpackDEFAULTADMINROLE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa217fddf.
//
// Solidity: function DEFAULT_ADMIN_ROLE() view returns(bytes32)
func (tesseraCredits *TesseraCredits) UnpackDEFAULTADMINROLE(data []byte) ([32]byte, error) {
	out, err := tesseraCredits.abi.Unpack("DEFAULT_ADMIN_ROLE", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackCommit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1a995651.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function commit(bytes32 model, uint64 epoch, bytes32 root, uint256 total, uint64 contributors) returns()
func (tesseraCredits *TesseraCredits) PackCommit(model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64) []byte {
	enc, err := tesseraCredits.abi.Pack("commit", model, epoch, root, total, contributors)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCommit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1a995651.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function commit(bytes32 model, uint64 epoch, bytes32 root, uint256 total, uint64 contributors) returns()
func (tesseraCredits *TesseraCredits) TryPackCommit(model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64) ([]byte, error) {
	return tesseraCredits.abi.Pack("commit", model, epoch, root, total, contributors)
}

// PackEpochInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1cac435c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function epochInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256,uint64,uint64))
func (tesseraCredits *TesseraCredits) PackEpochInfo(model [32]byte, epoch uint64) []byte {
	enc, err := tesseraCredits.abi.Pack("epochInfo", model, epoch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEpochInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1cac435c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function epochInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256,uint64,uint64))
func (tesseraCredits *TesseraCredits) TryPackEpochInfo(model [32]byte, epoch uint64) ([]byte, error) {
	return tesseraCredits.abi.Pack("epochInfo", model, epoch)
}

// UnpackEpochInfo is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1cac435c.
//
// Solidity: function epochInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256,uint64,uint64))
func (tesseraCredits *TesseraCredits) UnpackEpochInfo(data []byte) (TesseraCreditsEpoch, error) {
	out, err := tesseraCredits.abi.Unpack("epochInfo", data)
	if err != nil {
		return *new(TesseraCreditsEpoch), err
	}
	out0 := *abi.ConvertType(out[0], new(TesseraCreditsEpoch)).(*TesseraCreditsEpoch)
	return out0, nil
}

// PackGetRoleAdmin is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x248a9ca3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getRoleAdmin(bytes32 role) view returns(bytes32)
func (tesseraCredits *TesseraCredits) PackGetRoleAdmin(role [32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("getRoleAdmin", role)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetRoleAdmin is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x248a9ca3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getRoleAdmin(bytes32 role) view returns(bytes32)
func (tesseraCredits *TesseraCredits) TryPackGetRoleAdmin(role [32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("getRoleAdmin", role)
}

// UnpackGetRoleAdmin is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x248a9ca3.
//
// Solidity: function getRoleAdmin(bytes32 role) view returns(bytes32)
func (tesseraCredits *TesseraCredits) UnpackGetRoleAdmin(data []byte) ([32]byte, error) {
	out, err := tesseraCredits.abi.Unpack("getRoleAdmin", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackGrantRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2f2ff15d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function grantRole(bytes32 role, address account) returns()
func (tesseraCredits *TesseraCredits) PackGrantRole(role [32]byte, account common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("grantRole", role, account)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGrantRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2f2ff15d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function grantRole(bytes32 role, address account) returns()
func (tesseraCredits *TesseraCredits) TryPackGrantRole(role [32]byte, account common.Address) ([]byte, error) {
	return tesseraCredits.abi.Pack("grantRole", role, account)
}

// PackHasRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x91d14854.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hasRole(bytes32 role, address account) view returns(bool)
func (tesseraCredits *TesseraCredits) PackHasRole(role [32]byte, account common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("hasRole", role, account)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHasRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x91d14854.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hasRole(bytes32 role, address account) view returns(bool)
func (tesseraCredits *TesseraCredits) TryPackHasRole(role [32]byte, account common.Address) ([]byte, error) {
	return tesseraCredits.abi.Pack("hasRole", role, account)
}

// UnpackHasRole is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x91d14854.
//
// Solidity: function hasRole(bytes32 role, address account) view returns(bool)
func (tesseraCredits *TesseraCredits) UnpackHasRole(data []byte) (bool, error) {
	out, err := tesseraCredits.abi.Unpack("hasRole", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackLatestEpoch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc9ecaf6d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function latestEpoch(bytes32 model) view returns(uint64)
func (tesseraCredits *TesseraCredits) PackLatestEpoch(model [32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("latestEpoch", model)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackLatestEpoch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc9ecaf6d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function latestEpoch(bytes32 model) view returns(uint64)
func (tesseraCredits *TesseraCredits) TryPackLatestEpoch(model [32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("latestEpoch", model)
}

// UnpackLatestEpoch is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xc9ecaf6d.
//
// Solidity: function latestEpoch(bytes32 model) view returns(uint64)
func (tesseraCredits *TesseraCredits) UnpackLatestEpoch(data []byte) (uint64, error) {
	out, err := tesseraCredits.abi.Unpack("latestEpoch", data)
	if err != nil {
		return *new(uint64), err
	}
	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)
	return out0, nil
}

// PackRenounceRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x36568abe.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function renounceRole(bytes32 role, address callerConfirmation) returns()
func (tesseraCredits *TesseraCredits) PackRenounceRole(role [32]byte, callerConfirmation common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("renounceRole", role, callerConfirmation)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRenounceRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x36568abe.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function renounceRole(bytes32 role, address callerConfirmation) returns()
func (tesseraCredits *TesseraCredits) TryPackRenounceRole(role [32]byte, callerConfirmation common.Address) ([]byte, error) {
	return tesseraCredits.abi.Pack("renounceRole", role, callerConfirmation)
}

// PackRevokeRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd547741f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function revokeRole(bytes32 role, address account) returns()
func (tesseraCredits *TesseraCredits) PackRevokeRole(role [32]byte, account common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("revokeRole", role, account)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRevokeRole is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd547741f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function revokeRole(bytes32 role, address account) returns()
func (tesseraCredits *TesseraCredits) TryPackRevokeRole(role [32]byte, account common.Address) ([]byte, error) {
	return tesseraCredits.abi.Pack("revokeRole", role, account)
}

// PackSupportsInterface is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01ffc9a7.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (tesseraCredits *TesseraCredits) PackSupportsInterface(interfaceId [4]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("supportsInterface", interfaceId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSupportsInterface is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01ffc9a7.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (tesseraCredits *TesseraCredits) TryPackSupportsInterface(interfaceId [4]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("supportsInterface", interfaceId)
}

// UnpackSupportsInterface is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x01ffc9a7.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (tesseraCredits *TesseraCredits) UnpackSupportsInterface(data []byte) (bool, error) {
	out, err := tesseraCredits.abi.Unpack("supportsInterface", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackVerify is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x92b3be89.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function verify(bytes32 model, uint64 epoch, address account, uint256 amount, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) PackVerify(model [32]byte, epoch uint64, account common.Address, amount *big.Int, proof [][32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("verify", model, epoch, account, amount, proof)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVerify is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x92b3be89.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function verify(bytes32 model, uint64 epoch, address account, uint256 amount, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) TryPackVerify(model [32]byte, epoch uint64, account common.Address, amount *big.Int, proof [][32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("verify", model, epoch, account, amount, proof)
}

// UnpackVerify is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x92b3be89.
//
// Solidity: function verify(bytes32 model, uint64 epoch, address account, uint256 amount, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) UnpackVerify(data []byte) (bool, error) {
	out, err := tesseraCredits.abi.Unpack("verify", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// TesseraCreditsEpochCommitted represents a EpochCommitted event raised by the TesseraCredits contract.
type TesseraCreditsEpochCommitted struct {
	Model        [32]byte
	Epoch        uint64
	Root         [32]byte
	Total        *big.Int
	Contributors uint64
	Raw          *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsEpochCommittedEventName = "EpochCommitted"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsEpochCommitted) ContractEventName() string {
	return TesseraCreditsEpochCommittedEventName
}

// UnpackEpochCommittedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event EpochCommitted(bytes32 indexed model, uint64 indexed epoch, bytes32 root, uint256 total, uint64 contributors)
func (tesseraCredits *TesseraCredits) UnpackEpochCommittedEvent(log *types.Log) (*TesseraCreditsEpochCommitted, error) {
	event := "EpochCommitted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsEpochCommitted)
	if len(log.Data) > 0 {
		if err := tesseraCredits.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range tesseraCredits.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// TesseraCreditsRoleAdminChanged represents a RoleAdminChanged event raised by the TesseraCredits contract.
type TesseraCreditsRoleAdminChanged struct {
	Role              [32]byte
	PreviousAdminRole [32]byte
	NewAdminRole      [32]byte
	Raw               *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsRoleAdminChangedEventName = "RoleAdminChanged"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsRoleAdminChanged) ContractEventName() string {
	return TesseraCreditsRoleAdminChangedEventName
}

// UnpackRoleAdminChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)
func (tesseraCredits *TesseraCredits) UnpackRoleAdminChangedEvent(log *types.Log) (*TesseraCreditsRoleAdminChanged, error) {
	event := "RoleAdminChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsRoleAdminChanged)
	if len(log.Data) > 0 {
		if err := tesseraCredits.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range tesseraCredits.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// TesseraCreditsRoleGranted represents a RoleGranted event raised by the TesseraCredits contract.
type TesseraCreditsRoleGranted struct {
	Role    [32]byte
	Account common.Address
	Sender  common.Address
	Raw     *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsRoleGrantedEventName = "RoleGranted"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsRoleGranted) ContractEventName() string {
	return TesseraCreditsRoleGrantedEventName
}

// UnpackRoleGrantedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)
func (tesseraCredits *TesseraCredits) UnpackRoleGrantedEvent(log *types.Log) (*TesseraCreditsRoleGranted, error) {
	event := "RoleGranted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsRoleGranted)
	if len(log.Data) > 0 {
		if err := tesseraCredits.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range tesseraCredits.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// TesseraCreditsRoleRevoked represents a RoleRevoked event raised by the TesseraCredits contract.
type TesseraCreditsRoleRevoked struct {
	Role    [32]byte
	Account common.Address
	Sender  common.Address
	Raw     *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsRoleRevokedEventName = "RoleRevoked"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsRoleRevoked) ContractEventName() string {
	return TesseraCreditsRoleRevokedEventName
}

// UnpackRoleRevokedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)
func (tesseraCredits *TesseraCredits) UnpackRoleRevokedEvent(log *types.Log) (*TesseraCreditsRoleRevoked, error) {
	event := "RoleRevoked"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsRoleRevoked)
	if len(log.Data) > 0 {
		if err := tesseraCredits.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range tesseraCredits.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (tesseraCredits *TesseraCredits) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["AccessControlBadConfirmation"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackAccessControlBadConfirmationError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["AccessControlUnauthorizedAccount"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackAccessControlUnauthorizedAccountError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["EpochNotIncreasing"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackEpochNotIncreasingError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["ZeroAddress"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackZeroAddressError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["ZeroRoot"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackZeroRootError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// TesseraCreditsAccessControlBadConfirmation represents a AccessControlBadConfirmation error raised by the TesseraCredits contract.
type TesseraCreditsAccessControlBadConfirmation struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AccessControlBadConfirmation()
func TesseraCreditsAccessControlBadConfirmationErrorID() common.Hash {
	return common.HexToHash("0x6697b23232a647058342c0724fe7c415cab25915b54e5dbc03f233173d37b41c")
}

// UnpackAccessControlBadConfirmationError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AccessControlBadConfirmation()
func (tesseraCredits *TesseraCredits) UnpackAccessControlBadConfirmationError(raw []byte) (*TesseraCreditsAccessControlBadConfirmation, error) {
	out := new(TesseraCreditsAccessControlBadConfirmation)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "AccessControlBadConfirmation", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsAccessControlUnauthorizedAccount represents a AccessControlUnauthorizedAccount error raised by the TesseraCredits contract.
type TesseraCreditsAccessControlUnauthorizedAccount struct {
	Account    common.Address
	NeededRole [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)
func TesseraCreditsAccessControlUnauthorizedAccountErrorID() common.Hash {
	return common.HexToHash("0xe2517d3fbfae6f8515ef5ff1ccedc3933ab0cbbda0b492c06eb54ad10ef03b3e")
}

// UnpackAccessControlUnauthorizedAccountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)
func (tesseraCredits *TesseraCredits) UnpackAccessControlUnauthorizedAccountError(raw []byte) (*TesseraCreditsAccessControlUnauthorizedAccount, error) {
	out := new(TesseraCreditsAccessControlUnauthorizedAccount)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "AccessControlUnauthorizedAccount", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsEpochNotIncreasing represents a EpochNotIncreasing error raised by the TesseraCredits contract.
type TesseraCreditsEpochNotIncreasing struct {
	Model  [32]byte
	Epoch  uint64
	Latest uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EpochNotIncreasing(bytes32 model, uint64 epoch, uint64 latest)
func TesseraCreditsEpochNotIncreasingErrorID() common.Hash {
	return common.HexToHash("0x45c9f0b96414563491b31bf613905e62f99bccbed11e8fd320a42f21dddf6446")
}

// UnpackEpochNotIncreasingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EpochNotIncreasing(bytes32 model, uint64 epoch, uint64 latest)
func (tesseraCredits *TesseraCredits) UnpackEpochNotIncreasingError(raw []byte) (*TesseraCreditsEpochNotIncreasing, error) {
	out := new(TesseraCreditsEpochNotIncreasing)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "EpochNotIncreasing", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsZeroAddress represents a ZeroAddress error raised by the TesseraCredits contract.
type TesseraCreditsZeroAddress struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAddress()
func TesseraCreditsZeroAddressErrorID() common.Hash {
	return common.HexToHash("0xd92e233df2717d4a40030e20904abd27b68fcbeede117eaaccbbdac9618c8c73")
}

// UnpackZeroAddressError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAddress()
func (tesseraCredits *TesseraCredits) UnpackZeroAddressError(raw []byte) (*TesseraCreditsZeroAddress, error) {
	out := new(TesseraCreditsZeroAddress)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "ZeroAddress", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsZeroRoot represents a ZeroRoot error raised by the TesseraCredits contract.
type TesseraCreditsZeroRoot struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroRoot()
func TesseraCreditsZeroRootErrorID() common.Hash {
	return common.HexToHash("0xb263ae738e814ca9af6ee56bb85daa47624e790421913c947dcba2aac07cfdbd")
}

// UnpackZeroRootError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroRoot()
func (tesseraCredits *TesseraCredits) UnpackZeroRootError(raw []byte) (*TesseraCreditsZeroRoot, error) {
	out := new(TesseraCreditsZeroRoot)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "ZeroRoot", raw); err != nil {
		return nil, err
	}
	return out, nil
}
