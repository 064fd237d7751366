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

// TesseraCreditsEarnings is an auto generated low-level Go binding around an user-defined struct.
type TesseraCreditsEarnings struct {
	Root  [32]byte
	Total *big.Int
}

// TesseraCreditsEpoch is an auto generated low-level Go binding around an user-defined struct.
type TesseraCreditsEpoch struct {
	Root         [32]byte
	Total        *big.Int
	Contributors uint64
	CommittedAt  uint64
}

// TesseraCreditsMetaData contains all meta data concerning the TesseraCredits contract.
var TesseraCreditsMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"admin\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"committer\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[],\"name\":\"AccessControlBadConfirmation\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"neededRole\",\"type\":\"bytes32\"}],\"name\":\"AccessControlUnauthorizedAccount\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"latest\",\"type\":\"uint64\"}],\"name\":\"EpochNotIncreasing\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"InvalidProof\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"cumulativeEarnings\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"alreadyClaimed\",\"type\":\"uint256\"}],\"name\":\"NothingToClaim\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"PaymentFailed\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ReentrancyGuardReentrantCall\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"owed\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"available\",\"type\":\"uint256\"}],\"name\":\"VaultShort\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAddress\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroDeposit\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroRoot\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"cumulative\",\"type\":\"uint256\"}],\"name\":\"Claimed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"from\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Deposited\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"earningsRoot\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"earningsTotal\",\"type\":\"uint256\"}],\"name\":\"EarningsCommitted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"}],\"name\":\"EpochCommitted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"previousAdminRole\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"newAdminRole\",\"type\":\"bytes32\"}],\"name\":\"RoleAdminChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"}],\"name\":\"RoleGranted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"}],\"name\":\"RoleRevoked\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"COMMITTER_ROLE\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"DEFAULT_ADMIN_ROLE\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"cumulativeEarnings\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"proof\",\"type\":\"bytes32[]\"}],\"name\":\"claim\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"claimed\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"earnRoot\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"earnTotal\",\"type\":\"uint256\"}],\"name\":\"commit\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"}],\"name\":\"deposit\",\"outputs\":[],\"stateMutability\":\"payable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"}],\"name\":\"deposited\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"}],\"name\":\"earningsInfo\",\"outputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"}],\"internalType\":\"structTesseraCredits.Earnings\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"}],\"name\":\"earningsRoot\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"}],\"name\":\"epochInfo\",\"outputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"contributors\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"committedAt\",\"type\":\"uint64\"}],\"internalType\":\"structTesseraCredits.Epoch\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"}],\"name\":\"getRoleAdmin\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"grantRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"hasRole\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"}],\"name\":\"latestEpoch\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"callerConfirmation\",\"type\":\"address\"}],\"name\":\"renounceRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"role\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"revokeRole\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes4\",\"name\":\"interfaceId\",\"type\":\"bytes4\"}],\"name\":\"supportsInterface\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"}],\"name\":\"totalClaimed\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"proof\",\"type\":\"bytes32[]\"}],\"name\":\"verify\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"model\",\"type\":\"bytes32\"},{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"cumulativeEarnings\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"proof\",\"type\":\"bytes32[]\"}],\"name\":\"verifyEarnings\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "TesseraCredits",
	Bin: "0x608060405234801561000f575f5ffd5b5060405161139138038061139183398101604081905261002e9161016a565b6001600160a01b038216158061004b57506001600160a01b038116155b156100695760405163d92e233d60e01b815260040160405180910390fd5b6100735f836100a6565b5061009e7f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a20106826100a6565b50505061019b565b5f828152602081815260408083206001600160a01b038516845290915281205460ff16610146575f838152602081815260408083206001600160a01b03861684529091529020805460ff191660011790556100fe3390565b6001600160a01b0316826001600160a01b0316847f2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d60405160405180910390a4506001610149565b505f5b92915050565b80516001600160a01b0381168114610165575f5ffd5b919050565b5f5f6040838503121561017b575f5ffd5b6101848361014f565b91506101926020840161014f565b90509250929050565b6111e9806101a85f395ff3fe60806040526004361061011b575f3560e01c80632f2ff15d1161009d578063a7ed1ea011610062578063a7ed1ea01461048e578063b214faa5146104ad578063c9ecaf6d146104c0578063d547741f1461050c578063dfcae6221461052b575f5ffd5b80632f2ff15d146103ff57806336568abe1461041e57806391d148541461043d57806392b3be891461045c578063a217fddf1461047b575f5ffd5b8063248a9ca3116100e3578063248a9ca3146102e6578063259c47b6146103145780632740c421146103945780632756d492146103b55780632dcd1f2a146103d4575f5ffd5b806301ffc9a71461011f5780631a7c3f73146101535780631be20863146101945780631cac435c146101d55780631f36edcd146102bb575b5f5ffd5b34801561012a575f5ffd5b5061013e610139366004610f31565b61056c565b60405190151581526020015b60405180910390f35b34801561015e575f5ffd5b506101867f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a2010681565b60405190815260200161014a565b34801561019f575f5ffd5b506101866101ae366004610f73565b5f9182526003602090815260408084206001600160401b0393909316845291905290205490565b3480156101e0575f5ffd5b506102726101ef366004610f73565b604080516080810182525f808252602082018190529181018290526060810191909152505f9182526002602081815260408085206001600160401b03948516865282529384902084516080810186528154815260018201549281019290925290910154808316938201939093526801000000000000000090920416606082015290565b60405161014a91905f60808201905082518252602083015160208301526001600160401b0360408401511660408301526001600160401b03606084015116606083015292915050565b3480156102c6575f5ffd5b506101866102d5366004610f9d565b5f9081526004602052604090205490565b3480156102f1575f5ffd5b50610186610300366004610f9d565b5f9081526020819052604090206001015490565b34801561031f575f5ffd5b5061037961032e366004610f73565b6040805180820182525f8082526020918201819052938452600381528184206001600160401b0393909316845291825291829020825180840190935280548352600101549082015290565b6040805182518152602092830151928101929092520161014a565b34801561039f575f5ffd5b506103b36103ae366004610fb4565b6105a2565b005b3480156103c0575f5ffd5b5061013e6103cf366004611070565b610859565b3480156103df575f5ffd5b506101866103ee366004610f9d565b5f9081526005602052604090205490565b34801561040a575f5ffd5b506103b36104193660046110e2565b6108ac565b348015610429575f5ffd5b506103b36104383660046110e2565b6108d6565b348015610448575f5ffd5b5061013e6104573660046110e2565b61090e565b348015610467575f5ffd5b5061013e610476366004611070565b610936565b348015610486575f5ffd5b506101865f81565b348015610499575f5ffd5b506103b36104a8366004611103565b610966565b6103b36104bb366004610f9d565b610bc7565b3480156104cb575f5ffd5b506104f46104da366004610f9d565b5f908152600160205260409020546001600160401b031690565b6040516001600160401b03909116815260200161014a565b348015610517575f5ffd5b506103b36105263660046110e2565b610c43565b348015610536575f5ffd5b506101866105453660046110e2565b5f9182526006602090815260408084206001600160a01b0393909316845291905290205490565b5f6001600160e01b03198216637965db0b60e01b148061059c57506301ffc9a760e01b6001600160e01b03198316145b92915050565b7f0b60b5d7f7e737e4561eecda7c6a01e19e626c495c26e6f45e5b255f76a201066105cc81610c67565b5f888152600160205260409020546001600160401b039081169088168110610626576040516345c9f0b960e01b8152600481018a90526001600160401b03808a166024830152821660448201526064015b60405180910390fd5b866106445760405163b263ae7360e01b815260040160405180910390fd5b8760015f8b81526020019081526020015f205f6101000a8154816001600160401b0302191690836001600160401b031602179055506040518060800160405280888152602001878152602001866001600160401b03168152602001426001600160401b031681525060025f8b81526020019081526020015f205f8a6001600160401b03166001600160401b031681526020019081526020015f205f820151815f0155602082015181600101556040820151816002015f6101000a8154816001600160401b0302191690836001600160401b0316021790555060608201518160020160086101000a8154816001600160401b0302191690836001600160401b0316021790555090505060405180604001604052808581526020018481525060035f8b81526020019081526020015f205f8a6001600160401b03166001600160401b031681526020019081526020015f205f820151815f015560208201518160010155905050876001600160401b0316897f39d4c51a94121c6b45307c3834c5af9c2367e9585800602243290684342ec1d88989896040516108009392919092835260208301919091526001600160401b0316604082015260600190565b60405180910390a360408051858152602081018590526001600160401b038a16918b917f2c8a8c3e98529482bbd6fd94a9913aeb7abbec6f2f5a6782eb1ddab5206ccc04910160405180910390a3505050505050505050565b5f8681526003602090815260408083206001600160401b038916845290915281205480610889575f9150506108a2565b61089e8484836108998a8a610c74565b610ccd565b9150505b9695505050505050565b5f828152602081905260409020600101546108c681610c67565b6108d08383610ce4565b50505050565b6001600160a01b03811633146108ff5760405163334bd91960e11b815260040160405180910390fd5b6109098282610d73565b505050565b5f918252602082815260408084206001600160a01b0393909316845291905290205460ff1690565b5f8681526002602090815260408083206001600160401b038916845290915281205480610889575f9150506108a2565b61096e610ddc565b5f85815260036020908152604080832060018352818420546001600160401b031684529091529020548015806109b157506109af8383836108998989610c74565b155b156109e15760405163028128df60e61b8152600481018790526001600160a01b038616602482015260440161061d565b5f8681526006602090815260408083206001600160a01b0389168452909152902054808511610a43576040516315353bf960e21b8152600481018890526001600160a01b0387166024820152604481018690526064810182905260840161061d565b5f610a4e8287611179565b5f89815260056020908152604080832054600490925282205492935091610a76908390611179565b905080831115610aaa57604051635c6220cd60e11b8152600481018b9052602481018490526044810182905260640161061d565b5f8a81526006602090815260408083206001600160a01b038d1684529091529020889055610ad8838361118c565b5f8b8152600560209081526040918290209290925580518581529182018a90526001600160a01b038b16918c917f2500ada8ba581126c805692756f230258621bbe372c90d928a7284fab4a9c1ea910160405180910390a35f896001600160a01b0316846040515f6040518083038185875af1925050503d805f8114610b79576040519150601f19603f3d011682016040523d82523d5f602084013e610b7e565b606091505b5050905080610bb25760405163a09e616560e01b81526001600160a01b038b1660048201526024810185905260440161061d565b505050505050610bc0610e13565b5050505050565b345f03610be7576040516356316e8760e01b815260040160405180910390fd5b5f8181526004602052604081208054349290610c0490849061118c565b9091555050604051348152339082907f87d4c0b5e30d6808bc8a94ba1c4d839b29d664151551a31753387ee9ef48429b9060200160405180910390a350565b5f82815260208190526040902060010154610c5d81610c67565b6108d08383610d73565b610c718133610e3d565b50565b604080516001600160a01b03841660208201529081018290525f9060600160408051601f198184030181528282528051602091820120908301520160405160208183030381529060405280519060200120905092915050565b5f82610cda868685610e7a565b1495945050505050565b5f610cef838361090e565b610d6c575f838152602081815260408083206001600160a01b03861684529091529020805460ff19166001179055610d243390565b6001600160a01b0316826001600160a01b0316847f2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d60405160405180910390a450600161059c565b505f61059c565b5f610d7e838361090e565b15610d6c575f838152602081815260408083206001600160a01b0386168085529252808320805460ff1916905551339286917ff6391f5c32d9c69d2a47ea670b442974b53935d1edc7fd64eb21e047a839171b9190a450600161059c565b610de4610ebb565b610e1160017f9b779b17422d0df92223018b32b4d1fa46e071723d6817e2486d003becc55f005b90610efb565b565b610e115f7f9b779b17422d0df92223018b32b4d1fa46e071723d6817e2486d003becc55f00610e0b565b610e47828261090e565b610e765760405163e2517d3f60e01b81526001600160a01b03821660048201526024810183905260440161061d565b5050565b5f81815b84811015610eb257610ea882878784818110610e9c57610e9c61119f565b90506020020135610f02565b9150600101610e7e565b50949350505050565b7f9b779b17422d0df92223018b32b4d1fa46e071723d6817e2486d003becc55f005c15610e1157604051633ee5aeb560e01b815260040160405180910390fd5b80825d5050565b5f818310610f1c575f828152602084905260409020610f2a565b5f8381526020839052604090205b9392505050565b5f60208284031215610f41575f5ffd5b81356001600160e01b031981168114610f2a575f5ffd5b80356001600160401b0381168114610f6e575f5ffd5b919050565b5f5f60408385031215610f84575f5ffd5b82359150610f9460208401610f58565b90509250929050565b5f60208284031215610fad575f5ffd5b5035919050565b5f5f5f5f5f5f5f60e0888a031215610fca575f5ffd5b87359650610fda60208901610f58565b95506040880135945060608801359350610ff660808901610f58565b9699959850939692959460a0840135945060c09093013592915050565b80356001600160a01b0381168114610f6e575f5ffd5b5f5f83601f840112611039575f5ffd5b5081356001600160401b0381111561104f575f5ffd5b6020830191508360208260051b8501011115611069575f5ffd5b9250929050565b5f5f5f5f5f5f60a08789031215611085575f5ffd5b8635955061109560208801610f58565b94506110a360408801611013565b93506060870135925060808701356001600160401b038111156110c4575f5ffd5b6110d089828a01611029565b979a9699509497509295939492505050565b5f5f604083850312156110f3575f5ffd5b82359150610f9460208401611013565b5f5f5f5f5f60808688031215611117575f5ffd5b8535945061112760208701611013565b93506040860135925060608601356001600160401b03811115611148575f5ffd5b61115488828901611029565b969995985093965092949392505050565b634e487b7160e01b5f52601160045260245ffd5b8181038181111561059c5761059c611165565b8082018082111561059c5761059c611165565b634e487b7160e01b5f52603260045260245ffdfea2646970667358221220c194033fa9ad7c1ebfcfbd6b56ebd8997ce765460a1d5aedbfdc11351e93128764736f6c63430008250033",
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

// PackClaim is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7ed1ea0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function claim(bytes32 model, address account, uint256 cumulativeEarnings, bytes32[] proof) returns()
func (tesseraCredits *TesseraCredits) PackClaim(model [32]byte, account common.Address, cumulativeEarnings *big.Int, proof [][32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("claim", model, account, cumulativeEarnings, proof)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackClaim is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7ed1ea0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function claim(bytes32 model, address account, uint256 cumulativeEarnings, bytes32[] proof) returns()
func (tesseraCredits *TesseraCredits) TryPackClaim(model [32]byte, account common.Address, cumulativeEarnings *big.Int, proof [][32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("claim", model, account, cumulativeEarnings, proof)
}

// PackClaimed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdfcae622.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function claimed(bytes32 model, address account) view returns(uint256)
func (tesseraCredits *TesseraCredits) PackClaimed(model [32]byte, account common.Address) []byte {
	enc, err := tesseraCredits.abi.Pack("claimed", model, account)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackClaimed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdfcae622.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function claimed(bytes32 model, address account) view returns(uint256)
func (tesseraCredits *TesseraCredits) TryPackClaimed(model [32]byte, account common.Address) ([]byte, error) {
	return tesseraCredits.abi.Pack("claimed", model, account)
}

// UnpackClaimed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xdfcae622.
//
// Solidity: function claimed(bytes32 model, address account) view returns(uint256)
func (tesseraCredits *TesseraCredits) UnpackClaimed(data []byte) (*big.Int, error) {
	out, err := tesseraCredits.abi.Unpack("claimed", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackCommit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2740c421.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function commit(bytes32 model, uint64 epoch, bytes32 root, uint256 total, uint64 contributors, bytes32 earnRoot, uint256 earnTotal) returns()
func (tesseraCredits *TesseraCredits) PackCommit(model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64, earnRoot [32]byte, earnTotal *big.Int) []byte {
	enc, err := tesseraCredits.abi.Pack("commit", model, epoch, root, total, contributors, earnRoot, earnTotal)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCommit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2740c421.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function commit(bytes32 model, uint64 epoch, bytes32 root, uint256 total, uint64 contributors, bytes32 earnRoot, uint256 earnTotal) returns()
func (tesseraCredits *TesseraCredits) TryPackCommit(model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64, earnRoot [32]byte, earnTotal *big.Int) ([]byte, error) {
	return tesseraCredits.abi.Pack("commit", model, epoch, root, total, contributors, earnRoot, earnTotal)
}

// PackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb214faa5.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deposit(bytes32 model) payable returns()
func (tesseraCredits *TesseraCredits) PackDeposit(model [32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("deposit", model)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb214faa5.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deposit(bytes32 model) payable returns()
func (tesseraCredits *TesseraCredits) TryPackDeposit(model [32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("deposit", model)
}

// PackDeposited is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1f36edcd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deposited(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) PackDeposited(model [32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("deposited", model)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeposited is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1f36edcd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deposited(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) TryPackDeposited(model [32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("deposited", model)
}

// UnpackDeposited is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1f36edcd.
//
// Solidity: function deposited(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) UnpackDeposited(data []byte) (*big.Int, error) {
	out, err := tesseraCredits.abi.Unpack("deposited", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackEarningsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x259c47b6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function earningsInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256))
func (tesseraCredits *TesseraCredits) PackEarningsInfo(model [32]byte, epoch uint64) []byte {
	enc, err := tesseraCredits.abi.Pack("earningsInfo", model, epoch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEarningsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x259c47b6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function earningsInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256))
func (tesseraCredits *TesseraCredits) TryPackEarningsInfo(model [32]byte, epoch uint64) ([]byte, error) {
	return tesseraCredits.abi.Pack("earningsInfo", model, epoch)
}

// UnpackEarningsInfo is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x259c47b6.
//
// Solidity: function earningsInfo(bytes32 model, uint64 epoch) view returns((bytes32,uint256))
func (tesseraCredits *TesseraCredits) UnpackEarningsInfo(data []byte) (TesseraCreditsEarnings, error) {
	out, err := tesseraCredits.abi.Unpack("earningsInfo", data)
	if err != nil {
		return *new(TesseraCreditsEarnings), err
	}
	out0 := *abi.ConvertType(out[0], new(TesseraCreditsEarnings)).(*TesseraCreditsEarnings)
	return out0, nil
}

// PackEarningsRoot is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1be20863.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function earningsRoot(bytes32 model, uint64 epoch) view returns(bytes32)
func (tesseraCredits *TesseraCredits) PackEarningsRoot(model [32]byte, epoch uint64) []byte {
	enc, err := tesseraCredits.abi.Pack("earningsRoot", model, epoch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEarningsRoot is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1be20863.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function earningsRoot(bytes32 model, uint64 epoch) view returns(bytes32)
func (tesseraCredits *TesseraCredits) TryPackEarningsRoot(model [32]byte, epoch uint64) ([]byte, error) {
	return tesseraCredits.abi.Pack("earningsRoot", model, epoch)
}

// UnpackEarningsRoot is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1be20863.
//
// Solidity: function earningsRoot(bytes32 model, uint64 epoch) view returns(bytes32)
func (tesseraCredits *TesseraCredits) UnpackEarningsRoot(data []byte) ([32]byte, error) {
	out, err := tesseraCredits.abi.Unpack("earningsRoot", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
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

// PackTotalClaimed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2dcd1f2a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function totalClaimed(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) PackTotalClaimed(model [32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("totalClaimed", model)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTotalClaimed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2dcd1f2a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function totalClaimed(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) TryPackTotalClaimed(model [32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("totalClaimed", model)
}

// UnpackTotalClaimed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2dcd1f2a.
//
// Solidity: function totalClaimed(bytes32 model) view returns(uint256)
func (tesseraCredits *TesseraCredits) UnpackTotalClaimed(data []byte) (*big.Int, error) {
	out, err := tesseraCredits.abi.Unpack("totalClaimed", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
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

// PackVerifyEarnings is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2756d492.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function verifyEarnings(bytes32 model, uint64 epoch, address account, uint256 cumulativeEarnings, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) PackVerifyEarnings(model [32]byte, epoch uint64, account common.Address, cumulativeEarnings *big.Int, proof [][32]byte) []byte {
	enc, err := tesseraCredits.abi.Pack("verifyEarnings", model, epoch, account, cumulativeEarnings, proof)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVerifyEarnings is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2756d492.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function verifyEarnings(bytes32 model, uint64 epoch, address account, uint256 cumulativeEarnings, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) TryPackVerifyEarnings(model [32]byte, epoch uint64, account common.Address, cumulativeEarnings *big.Int, proof [][32]byte) ([]byte, error) {
	return tesseraCredits.abi.Pack("verifyEarnings", model, epoch, account, cumulativeEarnings, proof)
}

// UnpackVerifyEarnings is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2756d492.
//
// Solidity: function verifyEarnings(bytes32 model, uint64 epoch, address account, uint256 cumulativeEarnings, bytes32[] proof) view returns(bool)
func (tesseraCredits *TesseraCredits) UnpackVerifyEarnings(data []byte) (bool, error) {
	out, err := tesseraCredits.abi.Unpack("verifyEarnings", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// TesseraCreditsClaimed represents a Claimed event raised by the TesseraCredits contract.
type TesseraCreditsClaimed struct {
	Model      [32]byte
	Account    common.Address
	Amount     *big.Int
	Cumulative *big.Int
	Raw        *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsClaimedEventName = "Claimed"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsClaimed) ContractEventName() string {
	return TesseraCreditsClaimedEventName
}

// UnpackClaimedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Claimed(bytes32 indexed model, address indexed account, uint256 amount, uint256 cumulative)
func (tesseraCredits *TesseraCredits) UnpackClaimedEvent(log *types.Log) (*TesseraCreditsClaimed, error) {
	event := "Claimed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsClaimed)
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

// TesseraCreditsDeposited represents a Deposited event raised by the TesseraCredits contract.
type TesseraCreditsDeposited struct {
	Model  [32]byte
	From   common.Address
	Amount *big.Int
	Raw    *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsDepositedEventName = "Deposited"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsDeposited) ContractEventName() string {
	return TesseraCreditsDepositedEventName
}

// UnpackDepositedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Deposited(bytes32 indexed model, address indexed from, uint256 amount)
func (tesseraCredits *TesseraCredits) UnpackDepositedEvent(log *types.Log) (*TesseraCreditsDeposited, error) {
	event := "Deposited"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsDeposited)
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

// TesseraCreditsEarningsCommitted represents a EarningsCommitted event raised by the TesseraCredits contract.
type TesseraCreditsEarningsCommitted struct {
	Model         [32]byte
	Epoch         uint64
	EarningsRoot  [32]byte
	EarningsTotal *big.Int
	Raw           *types.Log // Blockchain specific contextual infos
}

const TesseraCreditsEarningsCommittedEventName = "EarningsCommitted"

// ContractEventName returns the user-defined event name.
func (TesseraCreditsEarningsCommitted) ContractEventName() string {
	return TesseraCreditsEarningsCommittedEventName
}

// UnpackEarningsCommittedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event EarningsCommitted(bytes32 indexed model, uint64 indexed epoch, bytes32 earningsRoot, uint256 earningsTotal)
func (tesseraCredits *TesseraCredits) UnpackEarningsCommittedEvent(log *types.Log) (*TesseraCreditsEarningsCommitted, error) {
	event := "EarningsCommitted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != tesseraCredits.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(TesseraCreditsEarningsCommitted)
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
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["InvalidProof"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackInvalidProofError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["NothingToClaim"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackNothingToClaimError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["PaymentFailed"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackPaymentFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["ReentrancyGuardReentrantCall"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackReentrancyGuardReentrantCallError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["VaultShort"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackVaultShortError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["ZeroAddress"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackZeroAddressError(raw[4:])
	}
	if bytes.Equal(raw[:4], tesseraCredits.abi.Errors["ZeroDeposit"].ID.Bytes()[:4]) {
		return tesseraCredits.UnpackZeroDepositError(raw[4:])
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

// TesseraCreditsInvalidProof represents a InvalidProof error raised by the TesseraCredits contract.
type TesseraCreditsInvalidProof struct {
	Model   [32]byte
	Account common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidProof(bytes32 model, address account)
func TesseraCreditsInvalidProofErrorID() common.Hash {
	return common.HexToHash("0xa04a37c0f2b62b59049eaf1ee2dabfaf3c659722ec0731abb94a7cc1eb856b3b")
}

// UnpackInvalidProofError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidProof(bytes32 model, address account)
func (tesseraCredits *TesseraCredits) UnpackInvalidProofError(raw []byte) (*TesseraCreditsInvalidProof, error) {
	out := new(TesseraCreditsInvalidProof)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "InvalidProof", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsNothingToClaim represents a NothingToClaim error raised by the TesseraCredits contract.
type TesseraCreditsNothingToClaim struct {
	Model              [32]byte
	Account            common.Address
	CumulativeEarnings *big.Int
	AlreadyClaimed     *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NothingToClaim(bytes32 model, address account, uint256 cumulativeEarnings, uint256 alreadyClaimed)
func TesseraCreditsNothingToClaimErrorID() common.Hash {
	return common.HexToHash("0x54d4efe4bfcf7c00328c103ca09145f48d185839c4bb27956e0a0482b89ab5a9")
}

// UnpackNothingToClaimError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NothingToClaim(bytes32 model, address account, uint256 cumulativeEarnings, uint256 alreadyClaimed)
func (tesseraCredits *TesseraCredits) UnpackNothingToClaimError(raw []byte) (*TesseraCreditsNothingToClaim, error) {
	out := new(TesseraCreditsNothingToClaim)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "NothingToClaim", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsPaymentFailed represents a PaymentFailed error raised by the TesseraCredits contract.
type TesseraCreditsPaymentFailed struct {
	Account common.Address
	Amount  *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error PaymentFailed(address account, uint256 amount)
func TesseraCreditsPaymentFailedErrorID() common.Hash {
	return common.HexToHash("0xa09e6165f4dcdc4e418edf5d4543c54cdb7d7a2166ff3723d856102f4f4a3c4d")
}

// UnpackPaymentFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error PaymentFailed(address account, uint256 amount)
func (tesseraCredits *TesseraCredits) UnpackPaymentFailedError(raw []byte) (*TesseraCreditsPaymentFailed, error) {
	out := new(TesseraCreditsPaymentFailed)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "PaymentFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsReentrancyGuardReentrantCall represents a ReentrancyGuardReentrantCall error raised by the TesseraCredits contract.
type TesseraCreditsReentrancyGuardReentrantCall struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReentrancyGuardReentrantCall()
func TesseraCreditsReentrancyGuardReentrantCallErrorID() common.Hash {
	return common.HexToHash("0x3ee5aeb571de7fc460830b4d0017439a1ca56fb0bc39062227ade4fe4a24c1ca")
}

// UnpackReentrancyGuardReentrantCallError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReentrancyGuardReentrantCall()
func (tesseraCredits *TesseraCredits) UnpackReentrancyGuardReentrantCallError(raw []byte) (*TesseraCreditsReentrancyGuardReentrantCall, error) {
	out := new(TesseraCreditsReentrancyGuardReentrantCall)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "ReentrancyGuardReentrantCall", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// TesseraCreditsVaultShort represents a VaultShort error raised by the TesseraCredits contract.
type TesseraCreditsVaultShort struct {
	Model     [32]byte
	Owed      *big.Int
	Available *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error VaultShort(bytes32 model, uint256 owed, uint256 available)
func TesseraCreditsVaultShortErrorID() common.Hash {
	return common.HexToHash("0xb8c4419aa95090ea1ba43a56527275b227ee2c9e39cf6712bab04a3818c04451")
}

// UnpackVaultShortError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error VaultShort(bytes32 model, uint256 owed, uint256 available)
func (tesseraCredits *TesseraCredits) UnpackVaultShortError(raw []byte) (*TesseraCreditsVaultShort, error) {
	out := new(TesseraCreditsVaultShort)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "VaultShort", raw); err != nil {
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

// TesseraCreditsZeroDeposit represents a ZeroDeposit error raised by the TesseraCredits contract.
type TesseraCreditsZeroDeposit struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroDeposit()
func TesseraCreditsZeroDepositErrorID() common.Hash {
	return common.HexToHash("0x56316e877e9063fd05b03c347d61a4639470c3199f0bdddd28efee0a5f8b6b02")
}

// UnpackZeroDepositError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroDeposit()
func (tesseraCredits *TesseraCredits) UnpackZeroDepositError(raw []byte) (*TesseraCreditsZeroDeposit, error) {
	out := new(TesseraCreditsZeroDeposit)
	if err := tesseraCredits.abi.UnpackIntoInterface(out, "ZeroDeposit", raw); err != nil {
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
