'use strict';

require('./runner/suite')('RTCPeerConnection-iceGatheringState.html');
